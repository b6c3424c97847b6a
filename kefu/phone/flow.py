"""The default call flow as TwiML (``twilio.twiml.voice_response``): one function per step.

Each step answers a provider webhook for one call: the incoming call, a ``<Gather>``'s keys, the
queue's wait music, the queue's end, a recording. A step reads the keys, calls the actions and
returns the next TwiML; every ``action``/``waitUrl``/``<Redirect>`` points under ``/phone/``.

The flow (docs/phone.md): language → the seed-phrase warning → main menu (1 deposits and
withdrawals, 2 account and security {1 lost access, 2 stolen, 3 freeze}, 3 other, 9 call-back,
0 agent, # an existing case) → identity step-up where the account is concerned → the queue, a
call-back, or out of hours a call-back, a ticket link by SMS or a voicemail.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import ceil
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override
from twilio.twiml.voice_response import Dial, Enqueue, Gather, VoiceResponse

from kefu.phone import actions, selectors
from kefu.phone.models import Call, Callback, Outcome, PromptKey
from kefu.phone.prompts import LANGUAGES, SAY_LANGUAGE, digits_spoken, language_of, text

MENU_TIMEOUT = 6
CODE_TIMEOUT = 20
MAX_RETRIES = 3
VOICEMAIL_SECONDS = 120
QUEUE_NAME_PREFIX = "kefu-"


def url(step: str, **query: object) -> str:
    base = selectors.public_url() + reverse("phone:flow", args=[step])
    return base + ("?" + urlencode(query) if query else "")


class Reply:
    """A TwiML answer being built in the call's language."""

    def __init__(self, call: Call | None) -> None:
        self.call = call
        self.language = language_of(call.language if call else "zh-hans")
        self.response = VoiceResponse()

    def say(self, words: str, target: VoiceResponse | Gather | None = None) -> None:
        if words:
            (target or self.response).say(words, language=SAY_LANGUAGE[self.language])

    def prompt(self, key: str, target: VoiceResponse | Gather | None = None) -> None:
        assert self.call is not None
        self.say(text(self.call.inbox_id, key, self.language), target)

    def goodbye(self) -> VoiceResponse:
        if self.call is not None:
            self.prompt(PromptKey.GOODBYE)
        else:
            with override(self.language):
                self.say(_("Thank you for calling. Goodbye."))
        self.response.hangup()
        return self.response


def ended(call: Call | None) -> VoiceResponse:
    """A request for a call Kefu does not know or that has ended (a replay): end politely."""
    return Reply(call).goodbye()


# --- the steps ------------------------------------------------------------------------------------


def incoming(call: Call) -> VoiceResponse:
    """The language choice (no key: Chinese), said in both languages."""
    reply = Reply(call)
    gather = Gather(num_digits=1, action=url("lang"), method="POST", timeout=5)
    for language in LANGUAGES:
        gather.say(text(call.inbox_id, PromptKey.LANGUAGE, language), language=SAY_LANGUAGE[language])
    reply.response.append(gather)
    reply.response.redirect(url("lang"), method="POST")
    return reply.response


def language(call: Call, digits: str) -> VoiceResponse:
    actions.do_note_call(call, language="en" if digits == "2" else "zh-hans")
    reply = Reply(call)
    reply.prompt(PromptKey.WARNING)
    hours = selectors.phone_hours(call.inbox)
    if not hours.open:
        return _closed_menu(reply, hours)
    _main_menu(reply)
    return reply.response


def _main_menu(reply: Reply) -> None:
    # finishOnKey="" makes "#" a key like the others (it is the existing-case choice).
    gather = Gather(num_digits=1, action=url("menu"), method="POST", timeout=MENU_TIMEOUT, finish_on_key="")
    reply.prompt(PromptKey.MENU, gather)
    reply.response.append(gather)
    reply.response.redirect(url("menu"), method="POST")


def _account_menu(reply: Reply) -> None:
    gather = Gather(
        num_digits=1, action=url("account"), method="POST", timeout=MENU_TIMEOUT, finish_on_key=""
    )
    reply.prompt(PromptKey.ACCOUNT_MENU, gather)
    reply.response.append(gather)
    reply.response.redirect(url("account"), method="POST")


def _not_understood(call: Call, reply: Reply) -> bool:
    """Count a wrong or missing key; True when the caller has had enough tries."""
    actions.do_note_call(call, retries=call.retries + 1)
    if call.retries >= MAX_RETRIES:
        return True
    with override(reply.language):
        reply.say(_("Sorry, we did not understand."))
    return False


def menu(call: Call, digits: str) -> VoiceResponse:
    reply = Reply(call)
    if digits in ("1", "2", "3", "9", "0", "#"):
        actions.do_note_call(call, menu_path=digits, retries=0)
    if digits == "1":
        return _step_up_then(call, reply, topic="deposits", then="queue")
    if digits == "2":
        _account_menu(reply)
        return reply.response
    if digits == "3":
        return _step_up_then(call, reply, topic="other", then="queue", verify=False)
    if digits == "9":
        return _step_up_then(call, reply, topic="callback", then="callback")
    if digits == "0":
        return _step_up_then(call, reply, topic="agent", then="queue", verify=False)
    if digits == "#":
        gather = Gather(action=url("case"), method="POST", timeout=CODE_TIMEOUT, finish_on_key="#")
        reply.prompt(PromptKey.CASE_NUMBER, gather)
        reply.response.append(gather)
        reply.response.redirect(url("case"), method="POST")
        return reply.response
    if _not_understood(call, reply):
        # No key after the menu was said again and again: a person is what most such callers want.
        return _step_up_then(call, reply, topic="agent", then="queue", verify=False)
    _main_menu(reply)
    return reply.response


def account(call: Call, digits: str) -> VoiceResponse:
    reply = Reply(call)
    if digits in ("1", "2", "3"):
        actions.do_note_call(call, menu_path=f"2>{digits}", retries=0)
    if digits == "1":
        return _step_up_then(call, reply, topic="lost_access", then="queue")
    if digits in ("2", "3"):
        # A stolen account cannot wait for the queue: the case goes to the security team now
        # (urgent) and the self-service freeze link goes by SMS before anything else is asked.
        topic = "stolen" if digits == "2" else "freeze"
        actions.do_open_case(call, topic=topic)
        sms = actions.do_queue_sms(call, purpose="freeze")
        with override(reply.language):
            if sms is not None or call.texts.filter(purpose="freeze").exists():
                reply.say(_("We have sent you a link by SMS to freeze your account yourself, right now."))
            reply.say(_("We are connecting you to our security team."))
        return _step_up_then(call, reply, topic=topic, then="queue")
    if _not_understood(call, reply):
        return _step_up_then(call, reply, topic="agent", then="queue", verify=False)
    _account_menu(reply)
    return reply.response


def case(call: Call, digits: str) -> VoiceResponse:
    """An existing case: its digits without KF- and the dashes, then #."""
    reply = Reply(call)
    customer = actions.customer_of(call)
    ticket = selectors.named_case(call, customer, digits)
    with override(reply.language):
        if ticket is not None:
            actions.do_open_case(call, topic="case", named=ticket)
            reply.say(_("We found your case."))
        else:
            reply.say(_("We could not find that case for this phone number. An agent will help you."))
    return _step_up_then(call, reply, topic="case", then="queue", verify=False)


def _step_up_then(call: Call, reply: Reply, *, topic: str, then: str, verify: bool = True) -> VoiceResponse:
    """Before anything is done on an account, the caller proves they own it with a one-time code
    sent to its registered email or phone (caller ID is never proof). Callers Kefu cannot tie to
    an account go on: the agent verifies them."""
    if call.ticket_id is None:
        actions.do_note_call(call, topic=topic)  # what the case will be about
    customer = actions.customer_of(call) if verify and call.verified_at is None else None
    if customer is not None:
        where = actions.do_send_code(call, customer)
        with override(reply.language):
            if where:
                gather = Gather(
                    action=url("verify", then=then), method="POST", timeout=CODE_TIMEOUT, finish_on_key="#"
                )
                reply.say(
                    _(
                        "To protect your account, we have sent a one-time code to {where}. Key it in on "
                        "your keypad, then press the pound key. Never read a code out to anyone."
                    ).format(where=where),
                    gather,
                )
                reply.response.append(gather)
                reply.response.redirect(url("verify", then=then), method="POST")
                return reply.response
            reply.say(_("We cannot send you a code right now; the agent will check your identity."))
    return _then(call, reply, then)


def verify(call: Call, digits: str, then: str) -> VoiceResponse:
    reply = Reply(call)
    customer = actions.customer_of(call)
    code = digits.rstrip("#")
    ok = customer is not None and bool(code) and actions.do_check_code(call, customer, code)
    with override(reply.language):
        if ok:
            reply.say(_("Thank you, your identity is verified."))
        else:
            reply.say(_("That code could not be checked; the agent will verify your identity."))
    return _then(call, reply, then if then in ("queue", "callback") else "queue")


def _then(call: Call, reply: Reply, then: str) -> VoiceResponse:
    if then == "callback":
        return _callback_confirmed(call, reply)
    return _enqueue(call, reply)


def _case_number_said(call: Call, reply: Reply) -> None:
    if call.ticket is None:
        return
    digits = call.ticket.case_number.replace("KF-", "").replace("-", "")
    with override(reply.language):
        reply.say(_("Your case number is {digits}.").format(digits=digits_spoken(digits)))
        if call.caller:
            reply.say(_("We have also sent it to you by SMS."))


def _enqueue(call: Call, reply: Reply) -> VoiceResponse:
    ticket = actions.do_enqueue(call)
    reply.prompt(PromptKey.QUEUE)
    _case_number_said(call, reply)
    enqueue = Enqueue(
        action=url("dequeued"),
        method="POST",
        wait_url=url("wait"),
        wait_url_method="POST",
        name=f"{QUEUE_NAME_PREFIX}{ticket.team.slug if ticket.team else 'general'}",
    )
    reply.response.append(enqueue)
    return reply.response


def _callback_confirmed(call: Call, reply: Reply, position: int | None = None) -> VoiceResponse:
    actions.do_request_callback(call, position=position)
    with override(reply.language):
        if call.queued_at is not None:
            reply.say(_("We will call you back. You keep your place in the queue."))
        else:
            reply.say(_("We will call you back as soon as an agent is free."))
    _case_number_said(call, reply)
    return reply.goodbye()


def wait(call: Call, position_param: str) -> VoiceResponse:
    """The queue's wait URL (said again and again while the caller waits): the position, an
    honest estimate, and the offer of a call-back that keeps the place."""
    reply = Reply(call)
    position = int(position_param) if position_param.isdigit() and len(position_param) < 7 else 0
    position = position or selectors.queue_position(call) or 1
    estimate = selectors.wait_for(call, position)
    gather = Gather(num_digits=1, action=url("waitkey", position=position), method="POST", timeout=10)
    with override(reply.language):
        reply.say(_("You are number {position} in the queue.").format(position=position), gather)
        if estimate.eta_seconds is None:
            reply.say(
                _(
                    "No agent who can take your call is online right now, so we cannot tell how long the wait will be."
                ),
                gather,
            )
        else:
            minutes = max(1, ceil(estimate.eta_seconds / 60))
            reply.say(_("The estimated wait is about {minutes} minutes.").format(minutes=minutes), gather)
        reply.say(_("To be called back without losing your place, press 1."), gather)
    reply.response.append(gather)
    return reply.response


def wait_key(call: Call, digits: str, position_param: str) -> VoiceResponse:
    """A key pressed while waiting: 1 leaves the queue with a call-back that keeps the place
    (the queue's action step confirms it); anything else goes back to waiting."""
    reply = Reply(call)
    if digits == "1":
        position = int(position_param) if position_param.isdigit() and len(position_param) < 7 else None
        actions.do_request_callback(call, position=position)
        reply.response.leave()
    return reply.response


def dequeued(call: Call, result: str) -> VoiceResponse:
    """The queue's action: the caller left it (a call-back), was bridged, or the queue failed."""
    reply = Reply(call)
    if result == "hangup":
        return reply.response
    if result == "bridged":
        return reply.goodbye()
    callback = Callback.objects.filter(call=call).first()
    if callback is None:
        with override(reply.language):
            reply.say(_("Sorry, we cannot keep you waiting any longer."))
    position = callback.queue_position if callback else None
    if call.verified_at is None:
        customer = actions.customer_of(call)
        if customer is not None:
            return _step_up_then(call, reply, topic=call.topic or "callback", then="callback")
    return _callback_confirmed(call, reply, position)


def _closed_menu(reply: Reply, hours: selectors.PhoneHours) -> VoiceResponse:
    call = reply.call
    assert call is not None
    with override(reply.language):
        if hours.next_opens_at is not None:
            reply.say(
                _("We open again on {date} at {time}.").format(
                    date=hours.next_opens_at.strftime("%Y-%m-%d"), time=hours.next_opens_at.strftime("%H:%M")
                )
            )
    gather = Gather(num_digits=1, action=url("closed"), method="POST", timeout=MENU_TIMEOUT)
    reply.prompt(PromptKey.CLOSED, gather)
    reply.response.append(gather)
    _voicemail(reply)
    return reply.response


def _voicemail(reply: Reply) -> None:
    reply.prompt(PromptKey.VOICEMAIL)
    reply.response.record(
        action=url("voicemail"),
        method="POST",
        max_length=VOICEMAIL_SECONDS,
        finish_on_key="#",
        play_beep=True,
    )
    reply.goodbye()


def closed(call: Call, digits: str) -> VoiceResponse:
    reply = Reply(call)
    if digits in ("9", "2"):
        actions.do_note_call(call, menu_path=f"closed>{digits}")
    if digits == "9":
        return _step_up_then(call, reply, topic="callback", then="callback")
    if digits == "2":
        actions.do_open_case(call, topic="other")
        actions.do_queue_sms(call, purpose="ticket_link")
        actions.do_note_call(call, outcome=Outcome.SMS_LINK)
        with override(reply.language):
            reply.say(_("We have sent you a link by SMS to open a ticket."))
        return reply.goodbye()
    _voicemail(reply)
    return reply.response


def voicemail(call: Call, params: Mapping[str, str]) -> VoiceResponse:
    reply = Reply(call)
    recording_url = params.get("RecordingUrl", "")[:500]
    if recording_url.startswith("https://") or recording_url.startswith("http://"):
        actions.do_record_voicemail(
            call,
            recording_url=recording_url,
            recording_sid=params.get("RecordingSid", "")[:64],
            duration=params.get("RecordingDuration", "")[:8],
        )
        with override(reply.language):
            reply.say(_("Thank you, we have recorded your message."))
        _case_number_said(call, reply)
    return reply.goodbye()


# --- the agents' legs -------------------------------------------------------------------------------


def queue_name(call: Call) -> str:
    team = call.ticket.team if call.ticket is not None else call.inbox.team
    return f"{QUEUE_NAME_PREFIX}{team.slug if team else 'general'}"


def _topic_words(call: Call) -> str:
    with override(call.language):
        return actions.topic_label(call.topic)


def connect_agent(call: Call, agent_pk: int) -> VoiceResponse:
    """The agent answered Kefu's call: take the caller out of the queue (the whisper URL tells
    the agent the topic first)."""
    response = VoiceResponse()
    # Recording (when enabled) starts at the bridge: the menus and the codes keyed in before it
    # are never on it, so there is nothing to pause.
    dial = (
        Dial(
            record="record-from-answer-dual",
            recording_status_callback=selectors.public_url() + reverse("phone:recording", args=[call.pk]),
            recording_status_callback_method="POST",
        )
        if settings.KEFU_PHONE_RECORD_CALLS
        else Dial()
    )
    dial.queue(
        queue_name(call),
        url=selectors.public_url() + reverse("phone:whisper", args=[agent_pk]),
        method="POST",
    )
    response.append(dial)
    return response


def whisper(call: Call, agent: object) -> VoiceResponse:
    """Said to the agent before the bridge: the case, the topic, the identity status."""
    from kefu.accounts.models import User

    assert isinstance(agent, User)
    actions.do_agent_answered(call, agent)
    reply = Reply(call)
    ticket = call.ticket
    with override(reply.language):
        reply.say(
            _("Phone call about {topic}. Case {digits}. Identity: {identity}.").format(
                topic=_topic_words(call),
                digits=digits_spoken(ticket.case_number) if ticket else "-",
                identity=_("verified") if call.verified_at else _("not verified"),
            )
        )
    return reply.response


def callback_agent(callback: Callback) -> VoiceResponse:
    """The agent answered a call-back: whisper the case, then dial the customer's verified number."""
    call = callback.call
    reply = Reply(call)
    number = selectors.callback_number(callback)
    with override(reply.language):
        reply.say(
            _("Call-back for case {digits}, about {topic}. Connecting the customer.").format(
                digits=digits_spoken(callback.ticket.case_number), topic=_topic_words(call)
            )
        )
    if number is None:
        return reply.goodbye()
    dial = Dial(
        caller_id=selectors.hotline_number() or None,
        action=selectors.public_url() + reverse("phone:callback_result", args=[callback.pk]),
        method="POST",
    )
    dial.number(number)
    reply.response.append(dial)
    return reply.response
