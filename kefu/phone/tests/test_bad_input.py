"""Bad input on every webhook the provider calls (issue 14's bar): an unknown CallSid or id,
missing parameters, 10,000 digits and junk fields get valid TwiML — ending the call politely
where there is a call to end — or a 4xx; never a 500, and never an error swallowed into the
polite ending (the log is checked: a crash that the webhook wrapper hides still fails here)."""

from __future__ import annotations

import logging
from xml.etree import ElementTree

import pytest

from kefu.phone.models import Call
from kefu.phone.tests.conftest import ACCOUNT_SID, fixture
from kefu.phone.tests.test_webhooks import signed_post

# The agents' legs and callbacks: ids in the URL that exist nowhere (one past any integer column).
AGENT_LEGS = [
    "/phone/twilio/status",
    "/phone/twilio/connect/999999/999999",
    "/phone/twilio/connect/99999999999999999999/1",
    "/phone/twilio/whisper/999999",
    "/phone/twilio/whisper/99999999999999999999",
    "/phone/twilio/recording/999999",
    "/phone/twilio/callback/999999/agent",
    "/phone/twilio/callback/99999999999999999999/result",
]
STEPS = ["lang", "menu", "account", "case", "verify", "wait", "waitkey", "dequeued", "closed", "voicemail"]
JUNK = {
    "Digits": "1" * 10_000,
    "QueuePosition": "9" * 40,
    "QueueResult": "x" * 1_000,
    "CallStatus": "exploded",
    "CallDuration": "-5",
    "DialCallStatus": "\u202e" * 20,
    "RecordingUrl": "file:///etc/passwd",
    "RecordingDuration": "NaN",
    "RecordingStatus": "completed",
}


def valid(response) -> ElementTree.Element | None:
    """TwiML (a <Response> document, XML content type), or None for a 4xx."""
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        return None
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Response"
    return root


def no_errors(caplog) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]


@pytest.mark.parametrize("path", AGENT_LEGS)
@pytest.mark.parametrize("kind", ["unknown call", "only the sid", "junk"])
def test_the_agents_legs_and_callbacks_answer_bad_input_with_twiml(hotline, caplog, path, kind):
    params = {"CallSid": "CA" + "e" * 32, "AccountSid": ACCOUNT_SID}
    if kind == "unknown call":
        params = fixture("voice_incoming.json") | params
    elif kind == "junk":
        params = fixture("voice_incoming.json") | params | JUNK
    with caplog.at_level(logging.ERROR):
        root = valid(signed_post(path, params))
    no_errors(caplog)
    assert root is None or all(child.tag in ("Say", "Hangup") for child in root)
    assert not Call.objects.exists()


@pytest.mark.parametrize("step", STEPS)
def test_every_step_of_a_real_call_survives_missing_and_junk_parameters(hotline, caplog, step):
    """Only the CallSid (no From, To, Digits, QueuePosition...), then every junk field at once."""
    minimal = {"CallSid": "CA" + "a" * 32, "AccountSid": ACCOUNT_SID}
    with caplog.at_level(logging.ERROR):
        root = valid(signed_post("/phone/twilio/voice", minimal))
        assert root is not None and root.find("Gather") is not None  # the language menu
        assert Call.objects.get().caller == ""  # a withheld number
        valid(signed_post(f"/phone/twilio/flow/{step}", minimal))
        valid(signed_post(f"/phone/twilio/flow/{step}", minimal | JUNK))
        valid(signed_post("/phone/twilio/status", minimal | {"CallStatus": "completed", "CallDuration": "x"}))
    no_errors(caplog)
    call = Call.objects.get()
    assert call.ended_at is not None and call.ticket is not None  # every call is a case, at the end
    # The call has ended: any later step of it (a replay) says goodbye and hangs up.
    root = valid(signed_post(f"/phone/twilio/flow/{step}", minimal | {"Digits": "0"}))
    assert root is not None and root.find("Hangup") is not None


def test_a_call_sid_longer_than_any_provider_makes_is_a_400(hotline):
    params = fixture("voice_incoming.json") | {"CallSid": "CA" + "f" * 100}
    assert signed_post("/phone/twilio/voice", params).status_code == 400
    assert signed_post("/phone/twilio/flow/menu", params | {"Digits": "1"}).status_code == 400
    assert not Call.objects.exists()
