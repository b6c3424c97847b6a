"""Real mail servers on loopback: an aiosmtpd sink as the outbound relay, Kefu's own receiver,
and Dovecot for IMAP. Sample mails from common clients live in ``messages/``."""

from __future__ import annotations

import email
import getpass
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

MESSAGES = Path(__file__).parent / "messages"
SUPPORT = "support@kefu.example"
DOVECOT = "/usr/sbin/dovecot"


def load(name: str, **replace: str) -> bytes:
    """A sample mail with ``%%KEY%%`` placeholders filled in."""
    raw = (MESSAGES / name).read_bytes()
    for key, value in replace.items():
        raw = raw.replace(f"%%{key.upper()}%%".encode(), value.encode())
    return raw


@pytest.fixture
def mail_settings(settings, monkeypatch):
    """Mail on, a fixed support address and brand; SMTP backend (never locmem)."""
    from django.core.mail.utils import DNS_NAME

    # Django's SMTP client greets with socket.getfqdn(), which can wait on a slow resolver.
    monkeypatch.setattr(DNS_NAME, "_fqdn", "client.kefu.example", raising=False)
    settings.KEFU_SUPPORT_EMAIL = SUPPORT
    settings.KEFU_BRAND_NAME = "Kefu Demo"
    settings.KEFU_BASE_URL = "https://help.kefu.example"
    settings.KEFU_MAIL_NOTIFICATIONS = True
    settings.KEFU_MAIL_INBOUND_ADDRESSES = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # nothing listens here unless a test starts the sink
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    return settings


@pytest.fixture(autouse=True)
def intent(monkeypatch):
    """A stand-in for the bot's intent engine (tests set ``intent.value``): fast and predictable.

    ``intent.real_module`` is the real engine, for the test that exercises it.
    """
    import importlib
    import sys
    import types

    state = types.SimpleNamespace(
        value="", fail=False, real_module=importlib.import_module("kefu.bot.engine")
    )

    class Engine:
        def predict(self, text: str) -> types.SimpleNamespace:
            if state.fail:
                raise RuntimeError("model not trained")
            return types.SimpleNamespace(intent=state.value, confidence=0.9)

    module = types.ModuleType("kefu.bot.engine")
    module.default_engine = lambda: Engine()
    monkeypatch.setitem(sys.modules, "kefu.bot.engine", module)
    return state


@dataclass
class Sink:
    """What the outbound relay received."""

    host: str
    port: int
    envelopes: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(raw, policy=policy.default) for _f, _t, raw in self.envelopes]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """Block until ``count`` mails arrived (a deadline, not a timing assertion)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.envelopes) >= count, timeout)
        return self.messages()


class _SinkHandler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.sink.arrived:
            self.sink.envelopes.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
            self.sink.arrived.notify_all()
        return "250 2.0.0 OK"


@pytest.fixture
def smtp_sink(mail_settings):
    """An aiosmtpd server standing in for the operator's outbound relay."""
    from kefu.mail.smtp import build_controller

    sink = Sink(host="127.0.0.1", port=0)
    controller = build_controller(_SinkHandler(sink), "127.0.0.1", 0)
    controller.start()
    sink.port = controller.port
    mail_settings.EMAIL_PORT = sink.port
    yield sink
    controller.stop()


@pytest.fixture
def receiver(mail_settings):
    """Kefu's SMTP receiver alone: it stores mail, nothing processes it (as after a crash)."""
    from kefu.mail.smtp import start_smtp_receiver

    running = start_smtp_receiver("127.0.0.1:0")
    yield running
    running.stop()


def admin_client():
    """A signed-in administrator who passed the second factor (admins must use 2FA)."""
    from kefu.accounts.models import Role
    from kefu.conftest import login, make_user
    from kefu.identity.twofactor import SESSION_VERIFIED_KEY

    client = login(make_user("admin@kefu.example", Role.ADMIN))
    session = client.session
    session[SESSION_VERIFIED_KEY] = True
    session.save()
    return client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Dovecot:
    host: str
    port: int
    password: str

    def url(self, user: str, query: str = "") -> str:
        from urllib.parse import quote

        return f"imap://{quote(user)}:{quote(self.password)}@{self.host}:{self.port}/INBOX{query}"


@pytest.fixture(scope="module")
def dovecot():
    """A real Dovecot IMAP server on 127.0.0.1, maildir in a temporary directory.

    Skipped only when Dovecot is not installed and ``KEFU_REQUIRE_DOVECOT`` is unset.
    """
    if not Path(DOVECOT).exists():
        if os.environ.get("KEFU_REQUIRE_DOVECOT"):
            pytest.fail(f"{DOVECOT} is missing but KEFU_REQUIRE_DOVECOT is set")
        pytest.skip(f"{DOVECOT} is not installed (apt-get install dovecot-imapd)")
    base = Path(tempfile.mkdtemp(prefix="kefu-dovecot-"))
    base.chmod(0o755)  # Dovecot's unprivileged processes must reach the maildir
    (base / "mail").mkdir()
    (base / "run").mkdir()
    if os.geteuid() == 0:
        # Dovecot refuses to run its login and mail processes as root.
        internal, login, mail_user = "dovecot", "dovenull", "dovecot"
    else:
        internal = login = mail_user = getpass.getuser()
    mail_pw = pwd.getpwnam(mail_user)
    if os.geteuid() == 0:
        os.chown(base / "mail", mail_pw.pw_uid, mail_pw.pw_gid)
    port = free_port()
    password = "kefu-test-password"
    config = base / "dovecot.conf"
    config.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/run/state
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%u
first_valid_uid = 1
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={mail_pw.pw_uid} gid={mail_pw.pw_gid} home={base}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                if probe.recv(64).startswith(b"* OK"):
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
            process.kill()
            shutil.rmtree(base, ignore_errors=True)
            pytest.fail(f"Dovecot did not start:\n{log}")
        time.sleep(0.1)
    yield Dovecot(host="127.0.0.1", port=port, password=password)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(base, ignore_errors=True)
