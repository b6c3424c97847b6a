"""The default call flow, walked by the simulator through every branch in both languages."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu.accounts.models import User
from kefu.calendars.models import BusinessCalendar, CalendarHours, CalendarOverride
from kefu.conftest import make_user
from kefu.phone.models import Call, Callback, CallbackStatus, Outcome, PhoneSms
from kefu.phone.tests.conftest import CALLER, HOTLINE
from kefu.tickets.models import Channel, Priority, Ticket

# (the key for the language menu, the call's language, its <Say language="...">)
LANGUAGES = [pytest.param("", "zh-hans", "zh-CN", id="zh"), pytest.param("2", "en", "en-US", id="en")]


def t(language: str, text: str, **values: object) -> str:
    with override(language):
        return _(text).format(**values)


def spoken(ticket: Ticket) -> str:
    return " ".join(ticket.case_number.replace("KF-", "").replace("-", ""))


def events(ticket: Ticket) -> list[str]:
    return [m.extra.get("event", "") for m in ticket.messages.order_by("seq")]


@pytest.fixture
def customer(db) -> User:
    """A customer whose number on file is the caller's."""
    user = make_user("caller@example.com")
    user.phone = CALLER
    user.save(update_fields=["phone"])
    return user


def mailed_code() -> str:
    import re

    match = re.search(r"\b(\d{6})\b", str(mail.outbox[-1].body))
    assert match
    return match.group(1)


# --- 0 and the queue ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_agent_enqueues_with_no_agent_online_and_the_case_number_is_said_and_sent(
    make_call, provider, lang_key, language, voice
):
    """0 always enqueues (no agent online yet): the case exists from then, on the phone channel,
    its number is read out digit by digit in the caller's language and sent by SMS."""
    result = make_call([lang_key, "0", "", ""])
    call = result.call
    assert result.played.queued and call.language == language and call.menu_path == "0"
    ticket = call.ticket
    assert ticket is not None and ticket.channel == Channel.PHONE and ticket.customer is None
    assert ticket.status == "new"
    assert t(language, "Your case number is {digits}.", digits=spoken(ticket)) in result.said
    assert t(language, "You are number {position} in the queue.", position=1) in result.said
    # Every prompt after the bilingual language choice is in the caller's language.
    assert set(result.played.voices[2:]) == {voice}
    (text,) = [sms for sms in provider.texts if ticket.case_number in sms["Body"]]
    assert text["To"] == CALLER and text["From"] == HOTLINE
    assert PhoneSms.objects.get(call=call, purpose="case_number").status == "sent"
    log = events(ticket)
    # The call log, then the hand-off to the team (a job after the webhook answered), the end.
    assert log[-3:] == ["phone.started", "handed_off", "phone.ended"]
    assert call.outcome == Outcome.ABANDONED and call.queue_seconds is not None


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_no_key_at_all_reaches_an_agent(make_call, lang_key, language, voice):
    result = make_call([lang_key, "", "", "", ""])
    assert result.played.queued and result.call.ticket is not None
    assert t(language, "Sorry, we did not understand.") in result.said


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_unknown_keys_are_refused_and_the_menu_said_again(make_call, lang_key, language, voice):
    result = make_call([lang_key, "7", "3", ""])
    assert t(language, "Sorry, we did not understand.") in result.said
    assert result.call.menu_path == "3" and result.played.queued
    assert result.call.ticket.category.slug == "service-info"


# --- 1 and 2: topics, identity step-up ------------------------------------------------------------


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_deposits_from_an_unknown_number_queue_without_a_code(make_call, lang_key, language, voice):
    """Caller ID is never proof: an unknown caller is not asked for a code (the agent verifies)."""
    result = make_call([lang_key, "1", ""])
    call = result.call
    assert call.topic == "deposits" and call.ticket.category.slug == "assets" and call.verified_at is None
    assert not mail.outbox


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_a_known_caller_keys_in_the_code_sent_to_their_email_before_the_account_is_touched(
    make_call, customer, lang_key, language, voice
):
    """A one-time code goes to the registered email (not to the phone a SIM swap may hold) and is
    keyed in; the case is the customer's and says the identity was verified."""
    codes: list[str] = []

    def code_from_mail() -> str:
        codes.append(mailed_code())
        return codes[0] + "#"

    result = make_call([lang_key, "2", "1", code_from_mail, ""])
    call = result.call
    assert codes and call.verified_at is not None and call.menu_path == "2>1"
    assert call.ticket.customer == customer and call.ticket.category.slug == "account-recovery"
    assert t(language, "Thank you, your identity is verified.") in result.said
    started = call.ticket.messages.get(extra__event="phone.started")
    assert started.extra["verified"] is True  # the agent sees the identity status in the call log
    # What the caller keyed is nowhere: not in the call, the thread or the texts.
    for message in call.ticket.messages.all():
        assert codes[0] not in message.body and codes[0] not in str(message.extra)
    assert codes[0] not in str(Call.objects.filter(pk=call.pk).values().get())


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_a_wrong_code_does_not_verify_and_the_call_still_reaches_the_queue(
    make_call, customer, lang_key, language, voice
):
    result = make_call([lang_key, "1", "000000#", ""])
    assert result.call.verified_at is None and result.played.queued
    assert t(language, "That code could not be checked; the agent will verify your identity.") in result.said


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_stolen_account_is_urgent_for_the_security_team_with_the_freeze_link_by_sms(
    make_call, provider, lang_key, language, voice
):
    result = make_call([lang_key, "2", "2", ""])
    call = result.call
    ticket = call.ticket
    assert call.menu_path == "2>2" and call.topic == "stolen"
    assert ticket.priority == Priority.URGENT and ticket.security_flag
    assert ticket.team is not None and ticket.team.slug == "security"
    freeze = [sms for sms in provider.texts if "/identity/freeze/" in sms["Body"]]
    assert len(freeze) == 1 and freeze[0]["To"] == CALLER
    assert (
        t(language, "We have sent you a link by SMS to freeze your account yourself, right now.")
        in result.said
    )
    assert result.played.queued


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_freeze_sends_the_self_service_freeze_link(make_call, provider, lang_key, language, voice):
    result = make_call([lang_key, "2", "3", ""])
    ticket = result.call.ticket
    assert result.call.topic == "freeze" and ticket.security_flag and ticket.team.slug == "security"
    assert any("/identity/freeze/" in sms["Body"] for sms in provider.texts)


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_account_menu_refuses_an_unknown_key(make_call, lang_key, language, voice):
    result = make_call([lang_key, "2", "8", "1", ""])
    assert result.call.menu_path == "2>1"
    assert t(language, "Sorry, we did not understand.") in result.said


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_other_questions_file_under_the_fallback_category(make_call, lang_key, language, voice):
    result = make_call([lang_key, "3", ""])
    assert result.call.ticket.category.slug == "service-info" and result.call.topic == "other"


# --- 9: call-back ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_callback_from_the_menu_makes_a_case_and_reads_its_number(
    make_call, provider, lang_key, language, voice
):
    result = make_call([lang_key, "9"])
    call = result.call
    callback = Callback.objects.get(call=call)
    assert callback.status == CallbackStatus.WAITING and callback.ticket == call.ticket
    assert call.outcome == Outcome.CALLBACK and result.played.hung_up_by == "kefu"
    assert t(language, "Your case number is {digits}.", digits=spoken(call.ticket)) in result.said
    assert any(call.ticket.case_number in sms["Body"] for sms in provider.texts)
    assert "phone.callback_requested" in events(call.ticket)


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_callback_from_the_queue_keeps_the_place(make_call, lang_key, language, voice):
    """Pressing 1 while waiting leaves the queue with a call-back whose place is the moment the
    call joined the queue, ahead of later callers who asked for one earlier."""
    early = make_call([lang_key, "9"], caller="+8613700000001")
    result = make_call([lang_key, "0", "1"], position=3)
    call = result.call
    assert result.played.left_queue and call.queued_at is not None
    callback = Callback.objects.get(call=call)
    assert callback.place_at == call.queued_at and callback.queue_position == 3
    assert t(language, "We will call you back. You keep your place in the queue.") in result.said
    assert call.outcome == Outcome.CALLBACK
    # A caller who queued before the earlier call-back's request keeps that place.
    Callback.objects.filter(call=early.call).update(place_at=call.queued_at + timedelta(seconds=1))
    from kefu.phone.selectors import callback_queue

    assert [c.call_id for c in callback_queue()] == [call.pk, early.call.pk]


# --- #: an existing case ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_existing_case_by_its_digits(make_call, lang_key, language, voice):
    first = make_call([lang_key, "9"])
    digits = first.call.ticket.case_number.replace("KF-", "").replace("-", "")
    Ticket.objects.filter(pk=first.call.ticket.pk).update(status="resolved")  # not joined as "open"
    result = make_call([lang_key, "#", digits + "#", ""])
    assert result.call.ticket == first.call.ticket
    assert t(language, "We found your case.") in result.said


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_a_stranger_keying_someone_elses_case_number_reaches_nothing(make_call, lang_key, language, voice):
    first = make_call([lang_key, "9"])
    digits = first.call.ticket.case_number.replace("KF-", "").replace("-", "")
    result = make_call([lang_key, "#", digits + "#", ""], caller="+8613600000002")
    assert result.call.ticket != first.call.ticket
    assert (
        t(language, "We could not find that case for this phone number. An agent will help you.")
        in result.said
    )


def test_a_new_call_joins_the_callers_open_case(make_call):
    first = make_call(["", "0", ""])
    second = make_call(["", "0", ""])
    assert second.call.ticket == first.call.ticket
    assert "phone.joined" in events(first.call.ticket)


# --- out of hours ----------------------------------------------------------------------------------


@pytest.fixture
def closed_today(hotline):
    calendar = BusinessCalendar.objects.create(name="phone-hours", holiday_set="none")
    for weekday in range(7):
        CalendarHours.objects.create(calendar=calendar, weekday=weekday, opens_at=time(9), closes_at=time(18))
    today = timezone.localdate()
    for offset in (-1, 0, 1):
        CalendarOverride.objects.create(calendar=calendar, date=today + timedelta(days=offset), kind="closed")
    hotline.calendar = calendar
    hotline.save(update_fields=["calendar"])
    from kefu.calendars.selectors import CALENDARS

    CALENDARS.forget()
    return calendar


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_out_of_hours_says_when_it_opens_and_offers_a_callback(
    make_call, closed_today, lang_key, language, voice
):
    result = make_call([lang_key, "9"])
    opens = timezone.localdate() + timedelta(days=2)
    assert f"{opens:%Y-%m-%d}" in result.said
    assert not result.played.queued
    assert Callback.objects.filter(call=result.call).exists()


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_out_of_hours_ticket_link_by_sms(make_call, closed_today, provider, lang_key, language, voice):
    result = make_call([lang_key, "2"])
    assert result.call.outcome == Outcome.SMS_LINK
    assert any("/portal/new/" in sms["Body"] for sms in provider.texts)


@pytest.mark.parametrize("lang_key,language,voice", LANGUAGES)
def test_out_of_hours_voicemail_becomes_a_case_with_the_recording(
    make_call, closed_today, lang_key, language, voice
):
    result = make_call([lang_key, "", "my withdrawal is stuck"])
    assert result.played.recorded and result.call.outcome == Outcome.VOICEMAIL
    message = result.call.ticket.messages.get(extra__event="phone.voicemail")
    assert message.extra["recording_url"].startswith("https://api.twilio.com/2010-04-01/Accounts/")
    assert t(language, "Thank you, we have recorded your message.") in result.said


def test_an_admins_new_wording_is_said_on_the_next_call(make_call, hotline):
    """The wordings are kept in memory (one query a prompt before): an edit or a deletion in the
    admin is said on the very next call, not after the cache's minute."""
    from kefu.phone.models import Prompt

    prompt = Prompt.objects.create(inbox=hotline, key="menu", language="en", text="Press 0 for a human.")
    assert "Press 0 for a human." in make_call(["2", "0", ""]).said
    prompt.text = "Press 0 to talk to us."
    prompt.save()
    said = make_call(["2", "0", ""], caller="+8613700000008").said
    assert "Press 0 to talk to us." in said and "Press 0 for a human." not in said
    prompt.delete()
    said = make_call(["2", "0", ""], caller="+8613700000007").said
    assert (
        "Press 0 to talk to us." not in said and t("en", "To speak to an agent, press 0.").rstrip(".") in said
    )


def test_an_admin_rewords_a_prompt_per_inbox_and_language(make_call, hotline):
    """The default flow's prompts are the admins' to reword; the other language keeps the default."""
    from kefu.phone.models import Prompt

    Prompt.objects.create(inbox=hotline, key="menu", language="en", text="Press 0 for a human.")
    english = make_call(["2", "0", ""])
    assert "Press 0 for a human." in english.said
    chinese = make_call(["", "0", ""], caller="+8613700000009")
    assert "Press 0 for a human." not in chinese.said
    assert (
        t(
            "zh-hans",
            "For deposits and withdrawals, press 1. For account and security, press 2. "
            "For other questions, press 3. To be called back, press 9. To speak to an agent, press 0. "
            "For an existing case, press the pound key.",
        )
        in chinese.said
    )
