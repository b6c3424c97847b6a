"""Telnyx TeXML (``KEFU_PHONE_PROVIDER=telnyx``): the same flow, Ed25519-signed webhooks, and
Telnyx's REST API for texts and outbound calls. A real Ed25519 key pair signs recorded-format
payloads (form-encoded, ``"{timestamp}|{body}"``); a local server speaks Telnyx's REST protocol
(JSON, Bearer key, recorded-format answers)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.test import Client
from twilio.request_validator import RequestValidator

from kefu.chat.models import AgentPresence
from kefu.conftest import make_user
from kefu.identity.sms import SmsError
from kefu.inbox.adapters.voice import VoiceAdapter
from kefu.jobs.engine import drain
from kefu.phone.models import AgentLine, Call, PhoneSms
from kefu.phone.simulator import Simulator
from kefu.phone.telnyx import REPLAY_WINDOW_SECONDS, TelnyxRest
from kefu.phone.tests.conftest import (
    AUTH_TOKEN,
    CALLER,
    HOTLINE,
    PUBLIC_URL,
    JsonAnswers,
    fixture,
    keypad,
    serving,
)

VOICE = "/phone/twilio/voice"
API_KEY = "KEY0187F1E2D3C4B5A69788_telnyx-test"
APPLICATION_ID = "1494404757140276705"
ACCOUNT = "f5586561-8ff0-4291-a51b-c7dfe4139ff9"
AGENT_LINE = "+8613511112222"


@dataclass
class FakeTelnyx:
    base_url: str = ""
    texts: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@pytest.fixture
def telnyx_api() -> Iterator[FakeTelnyx]:
    fake = FakeTelnyx()

    class Handler(JsonAnswers):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                fake.refused.append(self.path)
                error = {"code": "10009", "title": "Authentication failed", "detail": "Could not understand the provided credentials."}  # fmt: skip
                return self._reply(401, {"errors": [error]})
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                return self._reply(415, {"errors": [{"code": "10015", "title": "Bad Request"}]})
            payload = json.loads(raw)
            if self.path == "/v2/messages":
                fake.texts.append(payload)
                answer = fixture("telnyx_message_created.json")
                answer["data"] |= {"id": secrets.token_hex(16), "text": payload.get("text", "")}
                return self._reply(200, answer)
            if self.path == f"/v2/texml/calls/{APPLICATION_ID}":
                fake.calls.append(payload)
                sid = "v3:" + secrets.token_urlsafe(40)
                return self._reply(
                    200, fixture("telnyx_call_created.json") | {"call_sid": sid, "to": payload["To"]}
                )
            return self._reply(404, {"errors": [{"code": "10005", "title": "Resource not found"}]})

    with serving(Handler) as fake.base_url:
        yield fake


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def telnyx(hotline, settings, key, telnyx_api):
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    settings.KEFU_PHONE_PROVIDER = "telnyx"
    settings.KEFU_TELNYX_PUBLIC_KEY = base64.b64encode(public).decode()
    settings.KEFU_TELNYX_API_KEY = API_KEY
    settings.KEFU_TELNYX_APPLICATION_ID = APPLICATION_ID
    settings.KEFU_TELNYX_API_URL = telnyx_api.base_url
    return hotline


def signed(key: Ed25519PrivateKey, body: bytes, *, stamp: int | None = None) -> dict[str, Any]:
    stamp = int(time.time()) if stamp is None else stamp
    signature = key.sign(f"{stamp}|".encode() + body)
    return {  # WSGI header names for Django's test client
        "HTTP_TELNYX_SIGNATURE_ED25519": base64.b64encode(signature).decode(),
        "HTTP_TELNYX_TIMESTAMP": str(stamp),
    }


def post(path: str, body: bytes, headers: dict[str, Any]):
    return Client().post(path, data=body, content_type="application/x-www-form-urlencoded", **headers)


def twiml(response) -> ElementTree.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Response"
    return root


class TelnyxTransport:
    """The simulator's requests as Telnyx sends them: the form as the raw body, signed with
    Ed25519 over ``timestamp|body``; the jobs they queued run before the next request."""

    def __init__(self, key: Ed25519PrivateKey, capture) -> None:
        self.key = key
        self.capture = capture
        self.client = Client()

    def post(self, url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
        assert url.startswith(PUBLIC_URL), url
        params = {**params, "AccountSid": ACCOUNT}
        params.pop("ApiVersion", None)
        body = urlencode(params).encode()
        with self.capture(execute=True):
            response = self.client.post(
                url[len(PUBLIC_URL) :],
                data=body,
                content_type="application/x-www-form-urlencoded",
                **signed(self.key, body),
            )
        drain()
        return response.status_code, response.content.decode()


def test_a_recorded_incoming_call_validly_signed_gets_the_language_menu(telnyx, key):
    body = urlencode(fixture("telnyx_voice_incoming.json")).encode()
    root = twiml(post(VOICE, body, signed(key, body)))
    gather = root.find("Gather")
    assert gather is not None and gather.get("action", "").startswith(PUBLIC_URL + "/phone/")
    call = Call.objects.get()
    assert call.call_sid.startswith("v3:") and call.caller == CALLER


@pytest.mark.parametrize(
    "case",
    ["missing", "other key", "changed body", "twilio signature only", "stale", "future", "not base64"],
)
def test_a_webhook_not_signed_by_telnyx_now_is_refused(telnyx, key, case):
    body = urlencode(fixture("telnyx_voice_incoming.json")).encode()
    headers = signed(key, body)
    if case == "missing":
        headers = {}
    elif case == "other key":
        headers = signed(Ed25519PrivateKey.generate(), body)
    elif case == "changed body":
        body = body.replace(b"%2B8613912345678", b"%2B8613900000000", 1)
    elif case == "twilio signature only":
        params = fixture("telnyx_voice_incoming.json")
        headers = {"HTTP_X_TWILIO_SIGNATURE": RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + VOICE, params)}  # fmt: skip
    elif case == "stale":
        headers = signed(key, body, stamp=int(time.time()) - REPLAY_WINDOW_SECONDS - 5)
    elif case == "future":
        headers = signed(key, body, stamp=int(time.time()) + REPLAY_WINDOW_SECONDS + 5)
    elif case == "not base64":
        headers["HTTP_TELNYX_SIGNATURE_ED25519"] = "not base64!"
    response = post(VOICE, body, headers)
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_no_public_key_means_every_telnyx_webhook_is_refused(telnyx, key, settings):
    settings.KEFU_TELNYX_PUBLIC_KEY = ""
    body = urlencode(fixture("telnyx_voice_incoming.json")).encode()
    assert post(VOICE, body, signed(key, body)).status_code == 403


def test_a_replay_inside_the_window_changes_nothing_twice(telnyx, key):
    incoming = fixture("telnyx_voice_incoming.json")
    body = urlencode(incoming).encode()
    headers = signed(key, body)
    twiml(post(VOICE, body, headers))
    twiml(post(VOICE, body, headers))  # the same signed request again
    menu = urlencode(incoming | {"Digits": "0", "CallStatus": "in-progress"}).encode()
    language = urlencode(incoming | {"Digits": "1", "CallStatus": "in-progress"}).encode()
    twiml(post("/phone/twilio/flow/lang", language, signed(key, language)))
    menu_headers = signed(key, menu)
    first = twiml(post("/phone/twilio/flow/menu", menu, menu_headers))
    again = twiml(post("/phone/twilio/flow/menu", menu, menu_headers))
    assert first.find("Enqueue") is not None and again.find("Enqueue") is not None
    call = Call.objects.get()
    assert call.ticket is not None and call.queued_at is not None
    assert PhoneSms.objects.filter(call=call).count() == 1


@pytest.mark.parametrize("lang_key,language", [("", "zh-hans"), ("2", "en")])
def test_a_whole_call_over_telnyx_texts_the_case_number_and_rings_the_agent(
    telnyx, key, telnyx_api, django_capture_on_commit_callbacks, job_queue, lang_key, language
):
    agent = make_user("phone-agent@example.com", "agent", ("general", "accounts", "assets", "security"))
    AgentLine.objects.create(user=agent, address=AGENT_LINE)
    AgentPresence.objects.create(user=agent, status="online", capacity=3)
    played = Simulator(
        base_url=PUBLIC_URL,
        auth_token=AUTH_TOKEN,
        account_sid=ACCOUNT,
        caller=CALLER,
        called=HOTLINE,
        transport=TelnyxTransport(key, django_capture_on_commit_callbacks),
        keypad=keypad([lang_key, "0", "", ""]),
        out=lambda line: None,
        wait_rounds=1,
        call_sid="v3:" + secrets.token_urlsafe(40),
    ).run()
    call = Call.objects.select_related("ticket").get(call_sid=played.call_sid)
    assert played.queued and call.language == language and call.ticket is not None
    digits = " ".join(call.ticket.case_number.replace("KF-", "").replace("-", ""))
    assert any(digits in said for said in played.said)
    (text,) = telnyx_api.texts
    assert text["to"] == CALLER and text["from"] == HOTLINE and call.ticket.case_number in text["text"]
    assert PhoneSms.objects.get(call=call).status == "sent"
    (ring,) = telnyx_api.calls
    assert ring["To"] == AGENT_LINE and ring["From"] == HOTLINE
    assert ring["Url"].startswith(PUBLIC_URL + "/phone/twilio/connect/")
    assert ring["StatusCallback"] == PUBLIC_URL + "/phone/twilio/status"
    assert not telnyx_api.refused


def test_a_refused_api_key_is_an_error_the_jobs_retry(telnyx_api):
    rest = TelnyxRest(
        base_url=telnyx_api.base_url, api_key="wrong", application_id=APPLICATION_ID, number=HOTLINE
    )
    with pytest.raises(SmsError, match="401"):
        rest.send_sms(to=CALLER, body="hello")
    with pytest.raises(SmsError, match="401"):
        rest.create_call(to=AGENT_LINE, url=PUBLIC_URL + "/x", status_callback=PUBLIC_URL + "/y")


def test_the_voice_inbox_health_names_the_telnyx_settings(telnyx, settings):
    assert VoiceAdapter().health(telnyx).ok
    settings.KEFU_TELNYX_APPLICATION_ID = ""
    health = VoiceAdapter().health(telnyx)
    assert not health.ok and "KEFU_TELNYX_APPLICATION_ID" in health.detail
