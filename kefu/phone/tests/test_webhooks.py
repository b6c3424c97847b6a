"""The webhook contract: signed requests only, TwiML answers, and bad input never a 500."""

from __future__ import annotations

import logging
from xml.etree import ElementTree

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from kefu.phone.models import Call, Callback
from kefu.phone.tests.conftest import AUTH_TOKEN, CALLER, PUBLIC_URL, fixture

VOICE = "/phone/twilio/voice"
STATUS = "/phone/twilio/status"


def signed_post(path: str, params: dict[str, str], *, url: str | None = None, token: str = AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(url or PUBLIC_URL + path, params)
    return Client().post(path, data=params, HTTP_X_TWILIO_SIGNATURE=signature)


def twiml(response) -> ElementTree.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Response"
    return root


def test_the_recorded_incoming_call_payload_gets_the_language_menu(hotline):
    """The provider's real incoming-call fields, validly signed: a <Gather> whose action and
    fallback <Redirect> point under /phone/ at KEFU_PUBLIC_URL."""
    root = twiml(signed_post(VOICE, fixture("voice_incoming.json")))
    gather, redirect = root.find("Gather"), root.find("Redirect")
    assert gather is not None and gather.get("action", "").startswith(PUBLIC_URL + "/phone/")
    assert [say.get("language") for say in gather.findall("Say")] == ["zh-CN", "en-US"]
    assert redirect is not None and redirect.text.startswith(PUBLIC_URL + "/phone/")
    call = Call.objects.get(call_sid=fixture("voice_incoming.json")["CallSid"])
    assert call.caller == "+8613912345678" and call.inbox == hotline


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"HTTP_X_TWILIO_SIGNATURE": "bm90IGEgc2lnbmF0dXJl"}, id="wrong"),
    ],
)
def test_a_missing_or_wrong_signature_is_refused(hotline, headers):
    response = Client().post(VOICE, data=fixture("voice_incoming.json"), **headers)
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_a_signature_over_another_url_is_refused(hotline):
    """The URL is rebuilt from KEFU_PUBLIC_URL, not from the Host header a proxy passes on."""
    response = signed_post(VOICE, fixture("voice_incoming.json"), url="http://testserver" + VOICE)
    assert response.status_code == 403


def test_a_signature_with_another_token_is_refused(hotline):
    response = signed_post(VOICE, fixture("voice_incoming.json"), token="0" * 32)
    assert response.status_code == 403


def test_a_changed_field_breaks_the_signature(hotline):
    params = fixture("voice_incoming.json")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + VOICE, params)
    params["From"] = "+8613000000000"
    response = Client().post(VOICE, data=params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403


def test_no_auth_token_means_every_webhook_is_refused(hotline, settings):
    settings.KEFU_TWILIO_AUTH_TOKEN = ""
    assert signed_post(VOICE, fixture("voice_incoming.json")).status_code == 403


def test_another_account_is_refused(hotline):
    params = fixture("voice_incoming.json") | {"AccountSid": "AC" + "1" * 32}
    assert signed_post(VOICE, params).status_code == 403


def test_get_is_not_allowed(hotline):
    assert Client().get(VOICE).status_code == 405


def test_missing_call_sid_is_a_400(hotline):
    params = fixture("voice_incoming.json")
    del params["CallSid"]
    assert signed_post(VOICE, params).status_code == 400


def test_an_unknown_call_sid_ends_politely(hotline):
    params = fixture("voice_incoming.json") | {"CallSid": "CA" + "e" * 32, "Digits": "1"}
    root = twiml(signed_post("/phone/twilio/flow/menu", params))
    assert root.find("Say") is not None and root.find("Hangup") is not None
    assert not Call.objects.exists()


@pytest.mark.parametrize("step", ["lang", "menu", "account", "case", "verify", "waitkey", "closed"])
def test_ten_thousand_digits_get_valid_twiml(hotline, step, caplog):
    params = fixture("voice_incoming.json")
    twiml(signed_post(VOICE, params))
    with caplog.at_level(logging.ERROR):
        root = twiml(signed_post(f"/phone/twilio/flow/{step}", params | {"Digits": "1" * 10_000}))
    assert len(root) > 0 or step == "waitkey"  # an empty answer there: back to waiting
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_odd_queue_fields_get_valid_twiml(hotline):
    params = fixture("voice_incoming.json")
    twiml(signed_post(VOICE, params))
    for position in ("-1", "abc", "9" * 50, ""):
        twiml(signed_post("/phone/twilio/flow/wait", params | {"QueuePosition": position}))
    twiml(signed_post("/phone/twilio/flow/dequeued", params | {"QueueResult": "x" * 500}))
    twiml(signed_post("/phone/twilio/flow/voicemail", params | {"RecordingUrl": "javascript:alert(1)"}))
    twiml(signed_post("/phone/twilio/flow/nonsense", params))


def test_replayed_requests_change_nothing_twice(hotline):
    """A replayed (or retried) webhook finds what the first one did: one call, one call-back,
    one end of call in the log."""
    params = fixture("voice_incoming.json")
    for _ in range(2):
        twiml(signed_post(VOICE, params))
    for _ in range(2):
        twiml(signed_post("/phone/twilio/flow/menu", params | {"Digits": "9"}))
    call = Call.objects.get()
    assert Callback.objects.filter(call=call).count() == 1
    done = fixture("status_completed.json")
    for _ in range(2):
        twiml(signed_post(STATUS, done))
    call.refresh_from_db()
    assert call.status == "completed" and call.duration_seconds == 94
    assert call.ticket.messages.filter(extra__event="phone.ended").count() == 1
    # After the end, any step of the call (a replay) only says goodbye.
    root = twiml(signed_post("/phone/twilio/flow/menu", params | {"Digits": "0"}))
    assert root.find("Hangup") is not None and root.find("Enqueue") is None


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_every_end_status_is_recorded_and_the_call_gets_a_case(hotline, status):
    """A call that ends in the menu still becomes a case (at the latest when it ends)."""
    params = fixture("voice_incoming.json")
    twiml(signed_post(VOICE, params))
    twiml(signed_post(STATUS, fixture("status_completed.json") | {"CallStatus": status}))
    call = Call.objects.get()
    assert call.status == status and call.outcome == "hung_up" and call.ticket is not None
    assert call.ticket.channel == "phone"


def test_status_of_an_unknown_call_is_acknowledged(hotline):
    twiml(signed_post(STATUS, fixture("status_completed.json") | {"CallSid": "CA" + "d" * 32}))
    assert not Call.objects.exists()


def test_the_callers_number_is_kept_only_as_a_phone_number(hotline):
    params = fixture("voice_incoming.json") | {"From": "abandon ability able about above absent"}
    twiml(signed_post(VOICE, params))
    assert Call.objects.get().caller == ""
    assert CALLER  # the fixture's caller is a real-format number (see the first test)
