"""Real components for the hotline's tests: Kefu's webhooks through Django's test client, played
by the simulator (validly signed, the provider's form fields), and a local server speaking the
provider's REST protocol (form-encoded, Basic auth, real-format JSON answers) for texts and calls."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from kefu.inbox.models import Inbox, InboxKind
from kefu.jobs.engine import drain
from kefu.phone.models import Call
from kefu.phone.simulator import Played, Simulator

FIXTURES = Path(__file__).parent / "fixtures"
ACCOUNT_SID = "ACf0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
AUTH_TOKEN = "9f86d081884c7d659a2feaa0c55ad015"
PUBLIC_URL = "https://hotline.kefu.example"
HOTLINE = "+8640012345678"
CALLER = "+8613912345678"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


class JsonAnswers(BaseHTTPRequestHandler):
    """A local provider API's handler: quiet, answering JSON (the fakes below subclass it)."""

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free local port for the ``with`` block; gives its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class FakeProvider:
    """What the provider's REST API received: texts and calls, as parsed forms."""

    base_url: str = ""
    texts: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    prefix = f"/2010-04-01/Accounts/{ACCOUNT_SID}/"

    class Handler(JsonAnswers):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if self.headers.get("Authorization") != expected_auth:
                provider.refused.append(self.path)
                return self._reply(401, fixture("error_20003.json"))
            if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                return self._reply(400, {"code": 20001, "message": "not form-encoded", "status": 400})
            form = {k: v[-1] for k, v in parse_qs(raw).items()}
            path = urlsplit(self.path).path
            if path == prefix + "Messages.json":
                provider.texts.append(form)
                sid = "SM" + secrets.token_hex(16)
                answer = fixture("sms_created.json") | {
                    "sid": sid,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body"),
                    "uri": f"{prefix}Messages/{sid}.json",
                }
                return self._reply(201, answer)
            if path == prefix + "Calls.json":
                provider.calls.append(form)
                sid = "CA" + secrets.token_hex(16)
                answer = fixture("call_created.json") | {
                    "sid": sid,
                    "to": form.get("To"),
                    "to_formatted": form.get("To"),
                    "uri": f"{prefix}Calls/{sid}.json",
                }
                return self._reply(201, answer)
            return self._reply(
                404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
            )

    return Handler


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    with serving(_handler(fake)) as fake.base_url:
        yield fake


@pytest.fixture
def hotline(db, settings, provider: FakeProvider) -> Inbox:
    """The voice inbox (open 24/7: no calendar), with the provider's settings pointed at the fake."""
    from kefu.chat.selectors import clear_caches

    clear_caches()
    settings.KEFU_PUBLIC_URL = PUBLIC_URL
    settings.KEFU_TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.KEFU_TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.KEFU_TWILIO_API_URL = provider.base_url
    settings.KEFU_PHONE_NUMBER = HOTLINE
    inbox, _ = Inbox.objects.get_or_create(kind=InboxKind.VOICE, name="Hotline")
    return inbox


class ClientTransport:
    """The simulator's requests through Django's test client (the whole middleware stack). The
    jobs a request queued after its commit (texts, dialling an agent) run before the next one, as
    a worker would run them while the caller listens."""

    def __init__(self, capture: Callable[..., Any] | None = None) -> None:
        self.client = Client()
        self.capture = capture

    def post(self, url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
        assert url.startswith(PUBLIC_URL), url
        path = url[len(PUBLIC_URL) :]
        if self.capture is None:
            response = self.client.post(path, data=params, HTTP_X_TWILIO_SIGNATURE=signature)
        else:
            with self.capture(execute=True):
                response = self.client.post(path, data=params, HTTP_X_TWILIO_SIGNATURE=signature)
            drain()
        if response.status_code == 200:
            assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
        return response.status_code, response.content.decode()


@dataclass
class Played2:
    played: Played
    call: Call

    @property
    def said(self) -> str:
        return "\n".join(self.played.said)


def keypad(keys: Sequence[str | None | Callable[[], str]]) -> Callable[[str], str | None]:
    """Scripted key presses: each ``<Gather>`` (and recording) takes the next, a callable is asked
    at that moment (a code that just arrived); then the caller hangs up."""
    remaining = list(keys)

    def press(prompt: str) -> str | None:
        if not remaining:
            return None
        value = remaining.pop(0)
        return value() if callable(value) else value

    return press


def _simulator(keys: list[str | None], *, caller: str, transport: Any, **options: Any) -> Simulator:
    """A quiet simulated call to the test hotline, keys scripted."""
    return Simulator(
        base_url=PUBLIC_URL,
        auth_token=AUTH_TOKEN,
        account_sid=ACCOUNT_SID,
        caller=caller,
        called=HOTLINE,
        transport=transport,
        keypad=keypad(keys),
        out=lambda line: None,
        **options,
    )


@pytest.fixture
def make_call(hotline: Inbox, django_capture_on_commit_callbacks, job_queue) -> Callable[..., Played2]:
    """Play a call with scripted keys; the jobs it queued (texts) run before it returns."""

    def call(
        keys: list[str | None], *, caller: str = CALLER, wait_rounds: int = 2, position: int = 1
    ) -> Played2:
        played = _simulator(
            keys,
            caller=caller,
            transport=ClientTransport(django_capture_on_commit_callbacks),
            wait_rounds=wait_rounds,
            start_position=position,
        ).run()
        return Played2(
            played=played, call=Call.objects.select_related("ticket").get(call_sid=played.call_sid)
        )

    return call


@pytest.fixture
def play_call(hotline: Inbox) -> Callable[..., Call]:
    """Play a whole call (it ends with the status callback) with scripted keys; the call's row.
    ``transport`` defaults to the test client with no jobs run: the test's transaction never
    commits, so nothing queued on commit is ever enqueued — as if the process died right
    after each answer. A transport of the test's own decides when jobs run."""

    def play(
        keys: list[str | None], *, caller: str = CALLER, transport: Any = None, wait_rounds: int = 1
    ) -> Call:
        played = _simulator(
            keys, caller=caller, transport=transport or ClientTransport(), wait_rounds=wait_rounds
        ).run()
        return Call.objects.select_related("ticket").get(call_sid=played.call_sid)

    return play
