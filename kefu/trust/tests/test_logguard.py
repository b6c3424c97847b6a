"""Secrets never reach the logs: the real server's access and error lines, Django's request
warnings and exception tracebacks all pass the secret guard (kefu.trust.logguard)."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from mnemonic import Mnemonic

from kefu.trust import logguard

REPO = Path(__file__).resolve().parents[3]
PHRASE = Mnemonic("english").to_mnemonic(bytes(range(16)))  # a checksum-valid 12-word phrase
PHRASE_24 = Mnemonic("english").to_mnemonic(bytes(range(100, 132)))
ZH_PHRASE = Mnemonic("chinese_simplified").to_mnemonic(bytes(range(40, 56)))
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def _secret_parts(text: str) -> list[str]:
    """What must not appear: each phrase as typed, and each key, in the encodings a log may use."""
    found = []
    for secret in (PHRASE, PHRASE_24, ZH_PHRASE):
        words = secret.split()
        for joined in (" ".join(words[:6]), "+".join(words[:6]), "%20".join(words[:6])):
            if joined in text:
                found.append(joined)
        encoded = quote(" ".join(words[:4]))
        if encoded in text:
            found.append(encoded)
        escaped = " ".join(words[:4]).encode("unicode_escape").decode()
        if escaped in text:
            found.append(escaped)
    if KEY in text:
        found.append(KEY)
    return found


# --------------------------------------------------------------------------- the real server


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


SERVER = """
import django, uvicorn
django.setup()
from kefu.serve import uvicorn_options
uvicorn.run("kefu.asgi:application", fd={fd}, **uvicorn_options())
"""


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def server_log(tmp_path_factory) -> str:
    """Run the server as ``kefu serve`` runs it (uvicorn with Kefu's options, DEBUG off) in a
    subprocess, send it secrets in query strings and paths, and return everything it logged."""
    data_dir = tmp_path_factory.mktemp("logguard")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(
        KEFU_DATA_DIR=str(data_dir),
        KEFU_LOG_LEVEL="INFO",
        DJANGO_SETTINGS_MODULE="kefu.settings",
        KEFU_DEBUG="0",
    )
    python = sys.executable
    subprocess.run(
        [python, "-m", "django", "migrate", "-v0"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    sock = _free_socket()
    port = sock.getsockname()[1]
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [python, "-c", SERVER.format(fd=sock.fileno())],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[sock.fileno()],
        )
    sock.close()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(base + "/")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "server did not start:\n" + log_path.read_text(errors="replace")
                    ) from None
                time.sleep(0.2)
        statuses = {}
        for path, value in [
            ("/help/search/?q=", PHRASE),
            ("/api/v1/articles/search?q=", PHRASE_24),
            ("/api/v1/channels/check?kind=website&value=", KEY),
            ("/verify/?kind=website&value=", ZH_PHRASE),
            ("/help/search/?page=1&q=", KEY),
        ]:
            statuses[path] = _get(base + path + quote(value))
        # Not-found paths: Django logs them ("Not Found: <path>"), uvicorn quotes them encoded.
        statuses["404-en"] = _get(base + "/api/v1/articles/" + quote(PHRASE))
        statuses["404-zh"] = _get(base + "/help/" + quote(ZH_PHRASE) + "/")
        statuses["404-key"] = _get(base + "/no-such-page/" + KEY)
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = log_path.read_text(errors="replace")
    return text + "\n" + repr(statuses)


def test_the_servers_logs_hold_no_secret(server_log):
    assert _secret_parts(server_log) == [], server_log


def test_access_lines_keep_the_path_and_parameter_names(server_log):
    assert '"GET /help/search/?q=… HTTP/1.1" 200' in server_log
    assert '"GET /api/v1/articles/search?q=… HTTP/1.1" 200' in server_log
    assert "/api/v1/channels/check?kind=…&value=…" in server_log
    assert "/verify/?kind=…&value=…" in server_log
    assert "/help/search/?page=…&q=…" in server_log


def test_not_found_lines_keep_the_path_around_the_hidden_secret(server_log):
    assert "Not Found: /api/v1/articles/[hidden: possible seed phrase]" in server_log
    assert "Not Found: /help/[hidden: possible seed phrase]/" in server_log
    assert "Not Found: /no-such-page/[hidden: possible private key]" in server_log
    assert '"GET /no-such-page/[hidden: possible private key] HTTP/1.1" 404' in server_log


# --------------------------------------------------------------------------- any record


@pytest.fixture
def captured():
    """A handler with no filter of its own on a fresh logger: only the record factory screens."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger("kefu.tests.logguard")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_every_record_is_screened_where_it_is_made(captured):
    logger, stream = captured
    logger.warning("customer wrote %s", f"hello {PHRASE} thanks")
    logger.warning(f"inline {KEY} end")
    logger.warning("%(value)s", {"value": PHRASE})
    logger.error(ValueError(f"bad value {PHRASE}"))
    text = stream.getvalue()
    assert _secret_parts(text) == [], text
    assert "customer wrote hello [hidden: possible seed phrase] thanks" in text
    assert "inline [hidden: possible private key] end" in text


def test_a_secret_split_across_arguments_is_hidden(captured):
    logger, stream = captured
    words = PHRASE.split()
    logger.warning("%s %s", " ".join(words[:6]), " ".join(words[6:]))
    assert _secret_parts(stream.getvalue()) == []
    assert "[hidden: possible seed phrase]" in stream.getvalue()


def test_exception_tracebacks_are_screened(captured):
    logger, stream = captured
    try:
        raise ValueError(f"could not parse {PHRASE!r} or {KEY}")
    except ValueError:
        logger.exception("lookup failed")
    text = stream.getvalue()
    assert "Traceback" in text and "ValueError: could not parse" in text
    assert _secret_parts(text) == [], text


def test_percent_encoded_and_escaped_secrets_are_found():
    assert _secret_parts(logguard.screen_text("/help/" + quote(PHRASE))) == []
    escaped = ZH_PHRASE.encode("unicode_escape").decode("ascii")
    assert _secret_parts(logguard.screen_text("Not Found: /help/" + escaped)) == []
    assert logguard.screen_text("plain text, 100% fine") == "plain text, 100% fine"


def test_query_values_are_dropped_from_access_lines_only():
    assert logguard.strip_query_values("/s/?q=abc&page=2") == "/s/?q=…&page=…"
    assert logguard.strip_query_values("GET /?abandon+ability HTTP/1.1") == "GET /?… HTTP/1.1"
    assert logguard.strip_query_values("https://x.example/a?b=c") == "https://x.example/a?b=…"
    assert logguard.strip_query_values("what? nothing") == "what? nothing"
    record = logging.LogRecord("kefu.wallet", logging.INFO, __file__, 1, "GET %s", ("/a?page=2",), None)
    logguard.screen_record(record)
    assert record.getMessage() == "GET /a?page=2"  # only access loggers drop query values


def test_a_record_that_cannot_be_screened_is_withheld():
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", (PHRASE, Unprintable()), None)
    logguard.screen_record(record)
    assert record.getMessage() == "[log text withheld: the secret guard failed on it]"


def test_websocket_handshake_lines_drop_query_values_too():
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", f"/ws/chat/?resume_key=abc&note={quote(PHRASE)}"),
        None,
    )
    logguard.screen_record(record)
    assert record.getMessage() == '127.0.0.1:5000 - "WebSocket /ws/chat/?resume_key=…&note=…" [accepted]'
