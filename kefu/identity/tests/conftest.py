"""Real components for identity tests: an SMTP server (aiosmtpd) and an SMS provider over HTTP."""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from django.core import mail

from kefu.mail.mailurl import email_backend_settings as email_settings_from_url

FIXTURES = Path(__file__).parent / "fixtures"
SMS_ACCOUNT = "AC" + "0" * 30 + "42"
SMS_TOKEN = "test-auth-token"
SMS_FROM = "+15005550006"
# Numbers the fake provider treats specially, as the real format's test numbers do.
INVALID_NUMBER = "+8613800000000"
SLOW_NUMBER = "+8613900000009"


@pytest.fixture(autouse=True)
def _demo_wallet(settings, tmp_path):
    """Each test gets its own demo wallet file."""
    settings.KEFU_WALLET_BACKEND = "kefu.wallet.demo.DemoWalletBackend"
    settings.KEFU_WALLET_DEMO_FILE = str(tmp_path / "wallet-demo.json")


def code_from(text: str, length: int = 6) -> str:
    match = re.search(rf"\b(\d{{{length}}})\b", text)
    assert match, text
    return match.group(1)


def last_mailed_code() -> str:
    """The code in the latest mail of Django's test outbox (locmem backend)."""
    assert mail.outbox, "no mail was sent"
    return code_from(str(mail.outbox[-1].body))


# --- SMTP ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpSink:
    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """An aiosmtpd server on loopback requiring AUTH; Django's SMTP backend is pointed at it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    sink = SmtpSink()

    def authenticator(server, session, envelope, mechanism, auth_data):
        sink.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"kefu" and auth_data.password == b"p@ss word"
        return AuthResult(success=ok)

    port = _free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    for key, value in email_settings_from_url(
        f"smtp://kefu:p%40ss%20word@127.0.0.1:{port}?timeout=5"
    ).items():
        setattr(settings, key, value)
    try:
        yield sink
    finally:
        controller.stop()


# --- SMS provider -------------------------------------------------------------------------


@dataclass
class SmsProvider:
    base_url: str
    received: list = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(provider: SmsProvider):
    expected_auth = "Basic " + base64.b64encode(f"{SMS_ACCOUNT}:{SMS_TOKEN}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _reply(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path != f"/2010-04-01/Accounts/{SMS_ACCOUNT}/Messages.json":
                return self._reply(404, {"code": 20404, "message": "Not found", "status": 404})
            if self.headers.get("Authorization") != expected_auth:
                return self._reply(401, json.loads((FIXTURES / "sms_error_20003.json").read_text()))
            if form.get("To") == SLOW_NUMBER:
                provider.release.wait(10)
                return self._reply(201, {"sid": "SMslow"})
            if form.get("To") == INVALID_NUMBER:
                return self._reply(400, json.loads((FIXTURES / "sms_error_21211.json").read_text()))
            provider.received.append(form)
            sid = "SM" + secrets.token_hex(16)
            return self._reply(
                201,
                {
                    "sid": sid,
                    "account_sid": SMS_ACCOUNT,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body"),
                    "status": "queued",
                    "num_segments": "1",
                    "error_code": None,
                    "error_message": None,
                    "uri": f"/2010-04-01/Accounts/{SMS_ACCOUNT}/Messages/{sid}.json",
                },
            )

    return Handler


@pytest.fixture
def sms_provider(settings):
    """A local HTTP server speaking the provider's Messages.json format; settings point at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    provider = SmsProvider(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(provider)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.KEFU_SMS_URL = provider.base_url
    settings.KEFU_SMS_ACCOUNT = SMS_ACCOUNT
    settings.KEFU_SMS_TOKEN = SMS_TOKEN
    settings.KEFU_SMS_FROM = SMS_FROM
    settings.KEFU_SMS_TIMEOUT = 5
    try:
        yield provider
    finally:
        provider.release.set()
        server.shutdown()
        server.server_close()
