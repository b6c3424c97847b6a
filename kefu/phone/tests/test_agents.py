"""Agents and the hotline: the call-back queue page, call-backs dialled agent first to the
verified number only, and a queued caller connected to the first free agent with the skill."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from kefu.accounts.models import Role
from kefu.chat.models import AgentPresence
from kefu.conftest import login, make_user
from kefu.phone.models import AgentLine, Callback, CallbackStatus, Outcome
from kefu.phone.tests.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, HOTLINE, PUBLIC_URL

AGENT_LINE = "+8613511112222"


def signed(url: str, **params: str):
    params = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", **params}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    assert url.startswith(PUBLIC_URL)
    return Client().post(url[len(PUBLIC_URL) :], data=params, HTTP_X_TWILIO_SIGNATURE=signature)


def twiml(response) -> ElementTree.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(response.content)


@pytest.fixture
def customer(db):
    user = make_user("caller@example.com")
    user.phone = CALLER
    user.save(update_fields=["phone"])
    return user


@pytest.fixture
def phone_agent(db):
    user = make_user("phone-agent@example.com", Role.AGENT, ("general", "accounts", "assets", "security"))
    AgentLine.objects.create(user=user, address=AGENT_LINE)
    return user


def mailed_code() -> str:
    match = re.search(r"\b(\d{6})\b", str(mail.outbox[-1].body))
    assert match
    return match.group(1) + "#"


@pytest.fixture
def verified_callback(make_call, customer) -> Callback:
    """A known caller asked for a call-back and proved the account is theirs with a code."""
    result = make_call(["", "9", mailed_code])
    assert result.call.verified_at is not None
    return Callback.objects.get(call=result.call)


def test_the_callback_page_is_for_agents_only(verified_callback, customer, phone_agent):
    assert Client().get("/phone/callbacks/").status_code == 404
    assert login(customer).get("/phone/callbacks/").status_code == 404
    page = login(phone_agent).get("/phone/callbacks/")
    assert page.status_code == 200
    assert verified_callback.ticket.case_number in page.content.decode()
    assert CALLER in page.content.decode()  # the verified number on file


def test_the_callback_page_is_translated(verified_callback, phone_agent):
    client = login(phone_agent)
    client.cookies["django_language"] = "zh-hans"
    zh = client.get("/phone/callbacks/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    client.cookies["django_language"] = "en"
    en = client.get("/phone/callbacks/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Phone call-backs" in en and "电话回电" in zh


def test_an_unverified_caller_is_never_dialled(make_call, phone_agent, provider):
    """Caller ID is not a number on file: an unknown caller's call-back has no number to dial."""
    result = make_call(["", "9"])
    callback = Callback.objects.get(call=result.call)
    response = login(phone_agent).post(f"/phone/callbacks/{callback.pk}/dial/")
    assert response.status_code == 302
    assert not provider.calls
    callback.refresh_from_db()
    assert callback.attempts == 0 and callback.status == CallbackStatus.WAITING


def test_a_callback_rings_the_agent_first_then_the_verified_number(verified_callback, phone_agent, provider):
    client = login(phone_agent)
    assert client.post(f"/phone/callbacks/{verified_callback.pk}/dial/").status_code == 302
    (placed,) = provider.calls
    assert placed["To"] == AGENT_LINE and placed["From"] == HOTLINE
    assert placed["Url"] == f"{PUBLIC_URL}/phone/twilio/callback/{verified_callback.pk}/agent"
    verified_callback.refresh_from_db()
    assert verified_callback.status == CallbackStatus.DIALLING and verified_callback.attempts == 1

    # The agent answers: a whisper, then the customer's verified number, from the hotline's number.
    root = twiml(signed(placed["Url"], CallSid="CA" + "a" * 32, CallStatus="in-progress", To=AGENT_LINE))
    assert verified_callback.ticket.case_number[3:7] not in ("",) and root.find("Say") is not None
    dial = root.find("Dial")
    assert dial is not None and dial.get("callerId") == HOTLINE
    assert dial.find("Number").text == CALLER

    # Nobody answers: back in the queue at its place, then a second try reaches them.
    result_url = f"{PUBLIC_URL}/phone/twilio/callback/{verified_callback.pk}/result"
    twiml(signed(result_url, CallSid="CA" + "a" * 32, DialCallStatus="no-answer"))
    verified_callback.refresh_from_db()
    assert (
        verified_callback.status == CallbackStatus.WAITING and verified_callback.last_outcome == "no-answer"
    )
    client.post(f"/phone/callbacks/{verified_callback.pk}/dial/")
    twiml(signed(result_url, CallSid="CA" + "b" * 32, DialCallStatus="completed"))
    verified_callback.refresh_from_db()
    assert verified_callback.status == CallbackStatus.DONE and verified_callback.attempts == 2
    log = [m.extra.get("event") for m in verified_callback.ticket.messages.order_by("seq")]
    assert log.count("phone.callback_dialled") == 2 and log.count("phone.callback_result") == 2


def test_an_agent_without_a_line_cannot_dial(verified_callback, provider):
    agent = make_user("no-line@example.com", Role.AGENT)
    login(agent).post(f"/phone/callbacks/{verified_callback.pk}/dial/")
    assert not provider.calls


@pytest.mark.parametrize(
    "address,stored",
    [
        ("+86 135 1111 2222", "+8613511112222"),
        ("sip:agent7@pbx.example", "sip:agent7@pbx.example"),
        ("hello", None),
    ],
)
def test_an_agent_keeps_a_phone_number_or_sip_address(db, address, stored):
    agent = make_user("line@example.com", Role.AGENT)
    login(agent).post("/phone/callbacks/line/", {"address": address})
    line = AgentLine.objects.filter(user=agent).first()
    assert (line.address if line else None) == stored


def test_a_queued_caller_is_connected_to_the_first_free_agent_with_a_whisper(
    make_call, phone_agent, provider
):
    """The busy agent (no free slot) is skipped; the free one's phone rings, their answer takes
    the caller out of the queue after a whisper, and the call and the case are theirs."""
    AgentPresence.objects.create(user=phone_agent, status="online", capacity=3)
    busy = make_user("busy@example.com", Role.AGENT, ("general",))
    AgentLine.objects.create(user=busy, address="+8613522223333")
    AgentPresence.objects.create(user=busy, status="online", capacity=1, active_chats=1)
    seen: dict[str, ElementTree.Element] = {}

    def agent_answers_while_the_caller_waits() -> None:
        connects = [c for c in provider.calls if "/phone/twilio/connect/" in c["Url"]]
        assert [c["To"] for c in connects] == [AGENT_LINE]
        root = twiml(signed(connects[0]["Url"], CallSid="CA" + "c" * 32, CallStatus="in-progress"))
        queue = root.find("Dial/Queue")
        assert queue is not None and queue.get("url", "").startswith(PUBLIC_URL + "/phone/twilio/whisper/")
        # The provider dequeues the caller and asks the whisper URL (CallSid: the caller's call).
        from kefu.phone.models import Call

        caller_sid = Call.objects.get().call_sid
        seen["whisper"] = twiml(
            signed(queue.get("url", ""), CallSid=caller_sid, QueueSid="QU" + "1" * 32, QueueTime="12")
        )
        # While the caller is on the line, the agent's page links the case (menu, identity status).
        page = login(phone_agent).get("/phone/callbacks/").content.decode()
        ticket = Call.objects.select_related("ticket").get().ticket
        assert ticket is not None and ticket.case_number in page
        return None  # the bridged call ends later

    result = make_call(["", "0", agent_answers_while_the_caller_waits])
    assert seen["whisper"].find("Say") is not None
    call = result.call
    assert call.agent == phone_agent and call.answered_at is not None and call.outcome == Outcome.AGENT
    call.ticket.refresh_from_db()
    assert call.ticket.assignee == phone_agent
    assert "phone.answered" in [m.extra.get("event") for m in call.ticket.messages.all()]


def test_an_agent_who_comes_online_later_is_rung_for_the_waiting_call(make_call, phone_agent, provider):
    """0 queues even with nobody online; the sweep rings the first agent who comes online, once
    per ring (a second sweep while the phone rings rings nobody else), and never an agent who is
    on another call."""
    from kefu.phone.actions import do_sweep_queue

    waiting: dict[str, int] = {}

    def while_waiting() -> str:
        assert not [c for c in provider.calls if "/connect/" in c["Url"]]  # nobody online yet
        on_a_call = make_user("on-call@example.com", Role.AGENT, ("general",))
        AgentLine.objects.create(user=on_a_call, address="+8613533334444")
        AgentPresence.objects.create(user=on_a_call, status="online", capacity=3)
        from kefu.phone.models import Call

        other = Call.objects.create(
            call_sid="CA" + "9" * 32, inbox=Call.objects.get().inbox, caller="+8613000000001"
        )
        Call.objects.filter(pk=other.pk).update(agent=on_a_call, answered_at=other.started_at)
        # Without the on-a-call rule the other agent would be first (never assigned: longest idle).
        AgentPresence.objects.create(
            user=phone_agent, status="online", capacity=3, last_assigned_at=timezone.now()
        )
        waiting["first"] = do_sweep_queue()
        waiting["again"] = do_sweep_queue()
        return ""

    make_call(["", "0", while_waiting])
    rung = [c["To"] for c in provider.calls if "/phone/twilio/connect/" in c["Url"]]
    assert rung == [AGENT_LINE]
    assert waiting == {"first": 1, "again": 0}


@pytest.mark.parametrize("record", [False, True])
def test_recording_starts_at_the_bridge_and_its_link_goes_on_the_case(
    make_call, phone_agent, provider, settings, record
):
    """With KEFU_PHONE_RECORD_CALLS the agent's <Dial> records from the answer (the menus and the
    codes keyed in before are never recorded); the recording's link is logged once on the case."""
    settings.KEFU_PHONE_RECORD_CALLS = record
    AgentPresence.objects.create(user=phone_agent, status="online", capacity=3)
    result = make_call(["", "0", ""])
    (connect,) = [c for c in provider.calls if "/phone/twilio/connect/" in c["Url"]]
    call = result.call
    # The caller has hung up in this simulation: look at the TwiML the agent's leg would get.
    from kefu.phone import flow

    dial = ElementTree.fromstring(str(flow.connect_agent(call, phone_agent.pk))).find("Dial")
    assert dial is not None
    if not record:
        assert dial.get("record") is None
        return
    assert dial.get("record") == "record-from-answer-dual"
    callback_url = dial.get("recordingStatusCallback", "")
    assert callback_url.startswith(PUBLIC_URL + "/phone/twilio/recording/")
    fields = {
        "CallSid": "CA" + "d" * 32,
        "RecordingSid": "RE" + "1" * 32,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{'1' * 32}",
        "RecordingStatus": "completed",
        "RecordingDuration": "63",
    }
    for _ in range(2):  # the provider retries
        twiml(signed(callback_url, **fields))
    logged = call.ticket.messages.filter(extra__event="phone.recording")
    assert logged.count() == 1 and logged.get().extra["recording_url"] == fields["RecordingUrl"]
    assert connect["To"] == AGENT_LINE
