"""A local server speaking the WhatsApp Cloud API (Graph API) as Kefu uses it, for tests and the
benchmark: ``POST /{phone_number_id}/messages`` answers ``{"messages":[{"id":"wamid…"}]}`` or a
scripted Graph error body; ``GET /{media_id}`` and the media URL serve a customer's file.

Real HTTP on 127.0.0.1 (a thread), so Kefu's client, timeouts and error handling run for real.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"


def graph_error(
    code: int, message: str, *, details: str = "", kind: str = "OAuthException"
) -> dict[str, Any]:
    """An error body exactly as the Graph API writes it."""
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


RE_ENGAGEMENT = graph_error(
    131047,
    "(#131047) Re-engagement message",
    details="Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
)
RATE_LIMITED = graph_error(
    130429, "(#130429) Rate limit hit", details="Cloud API message throughput has been reached."
)
SERVER_ERROR = graph_error(131000, "(#131000) Something went wrong", details="Something went wrong")


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGraph:
    """Scripted answers: ``script`` is consumed first ((status, body) pairs), then
    ``failure_rate`` of sends answer 429 or 500 at random, the rest succeed."""

    calls: list[Call] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # message ids answered 200 to a send
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    failure_rate: float = 0.0
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    token: str = "test-access-token"
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    seed: int = 7
    _server: ThreadingHTTPServer | None = None

    def start(self) -> FakeGraph:
        fake = self
        rng = random.Random(self.seed)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._answer(
                        401, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
                    )
                    return False
                return True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                with fake.lock:
                    fake.calls.append(Call("POST", self.path, dict(self.headers), body))
                    scripted = fake.script.pop(0) if fake.script else None
                    roll = rng.random()
                if not self._authorised():
                    return
                if scripted is not None:
                    self._answer(*scripted)
                    return
                if roll < fake.failure_rate:
                    self._answer(
                        *((429, RATE_LIMITED) if roll < fake.failure_rate / 2 else (500, SERVER_ERROR))
                    )
                    return
                if not self.path.endswith("/messages"):
                    self._answer(404, graph_error(100, "Unsupported post request."))
                    return
                to = str(body.get("to", "")) if isinstance(body, dict) else ""
                wamid = "wamid." + hashlib.sha1(f"{time.time_ns()}{len(fake.calls)}".encode()).hexdigest()
                with fake.lock:
                    fake.accepted.append(wamid)
                self._answer(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": to, "wa_id": to}],
                        "messages": [{"id": wamid}],
                    },
                )

            def do_GET(self) -> None:
                with fake.lock:
                    fake.calls.append(Call("GET", self.path, dict(self.headers), None))
                if not self._authorised():
                    return
                key = self.path.split("?", 1)[0].strip("/")
                if key == PHONE_NUMBER_ID:
                    number = {"display_phone_number": "+1 555-078-3881", "verified_name": "Kefu Support"}
                    self._answer(200, {**number, "quality_rating": "GREEN", "id": PHONE_NUMBER_ID})
                    return
                if key.startswith("media-bytes/"):
                    content, mime = fake.media.get(key.split("/", 1)[1], (b"", ""))
                    self._answer(200, content, mime or "application/octet-stream")
                    return
                if key in fake.media:
                    content, mime = fake.media[key]
                    self._answer(
                        200,
                        {
                            "messaging_product": "whatsapp",
                            "url": f"{fake.url}/media-bytes/{key}",
                            "mime_type": mime,
                            "sha256": hashlib.sha256(content).hexdigest(),
                            "file_size": len(content),
                            "id": key,
                        },
                    )
                    return
                self._answer(400, graph_error(100, "Unsupported get request."))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def sent(self) -> list[dict[str, Any]]:
        """The message bodies Kefu posted (answered or not)."""
        with self.lock:
            return [c.body for c in self.calls if c.method == "POST" and c.path.endswith("/messages")]


# ------------------------------------------------------------------------ webhook payloads


def inbound(
    *messages: dict[str, Any],
    name: str = "Sheena Nelson",
    wa_id: str = "16505551234",
    statuses: list | None = None,
) -> dict[str, Any]:
    """A webhook body in the Cloud API's format (as recorded from Meta's test sends)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }


def text(body: str, *, wamid: str, wa_id: str = "16505551234", ts: int = 1749416383) -> dict[str, Any]:
    return {"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text", "text": {"body": body}}


def button_reply(
    title: str, *, wamid: str, wa_id: str = "16505551234", context_id: str = ""
) -> dict[str, Any]:
    return {
        "context": {"from": DISPLAY_NUMBER, "id": context_id or "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJBQkMxMjM="},
        "from": wa_id,
        "id": wamid,
        "timestamp": "1749416390",
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": title, "title": title}},
    }


def list_reply(title: str, *, wamid: str, wa_id: str = "16505551234") -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": wamid,
        "timestamp": "1749416391",
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": title, "title": title, "description": ""}},
    }


def status(wamid: str, state: str, *, wa_id: str = "16505551234", code: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"id": wamid, "status": state, "timestamp": "1750263773", "recipient_id": wa_id}
    if state != "failed":
        row["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
        row["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if code is not None:
        row["errors"] = [
            {
                "code": code,
                "title": "Re-engagement message",
                "message": "Re-engagement message",
                "error_data": {"details": "Message failed to send because more than 24 hours have passed."},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    return row


def signed(secret: str, body: dict[str, Any]) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return raw, "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
