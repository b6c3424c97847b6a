"""A local server speaking the Telegram Bot API (https://core.telegram.org/bots/api): the same URLs
(``/bot<token>/<method>``, ``/file/bot<token>/<path>``), JSON bodies and answers
(``{"ok": true, "result": ...}``, ``{"ok": false, "error_code": 429, "description": ...,
"parameters": {"retry_after": N}}``). Tests and scripts/bench_telegram.py script its failures."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-bk"


class FakeBotApi:
    def __init__(self, token: str = TOKEN, username: str = "kefu_support_bot") -> None:
        self.token = token
        self.username = username
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, deque[tuple[int, dict[str, Any]]]] = defaultdict(deque)
        self.files: dict[str, bytes] = {}
        self.updates: list[dict[str, Any]] = []
        self.fail_rate = 0.0  # the benchmark: a share of sendMessage calls answered 429/500
        self.random: Any = None
        self.lock = threading.Lock()
        self._next_id = 1000
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> FakeBotApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, method: str, status: int, **extra: Any) -> None:
        """The next call of ``method`` gets this error (Telegram's shape)."""
        self.failures[method].append((status, extra))

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        with self.lock:
            return [params for name, params in self.calls if name == method]

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.failures[method]:
                status, extra = self.failures[method].popleft()
                return status, _error(status, **extra)
            if method == "sendMessage" and self.fail_rate and self.random.random() < self.fail_rate:
                status = self.random.choice((429, 500))
                return status, _error(status, retry_after=1) if status == 429 else _error(status)
            self.calls.append((method, params))
            self._next_id += 1
            now = int(time.time())
        if method == "getMe":
            return 200, _ok(
                {"id": 123456789, "is_bot": True, "first_name": "Kefu", "username": self.username}
            )
        if method == "sendMessage":
            chat = {"id": params.get("chat_id"), "type": "private"}
            message = {"message_id": self._next_id, "date": now, "chat": chat, "text": params.get("text", "")}
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            return 200, _ok(message)
        if method == "getFile":
            file_id = str(params.get("file_id"))
            if file_id not in self.files:
                return 400, _error(400, description="Bad Request: invalid file_id")
            return 200, _ok(
                {
                    "file_id": file_id,
                    "file_unique_id": "AQAD" + file_id[-6:],
                    "file_size": len(self.files[file_id]),
                    "file_path": f"photos/{file_id}.jpg",
                }
            )
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            return 200, _ok([u for u in self.updates if u["update_id"] >= offset])
        if method == "getWebhookInfo":
            return 200, _ok({"url": "", "has_custom_certificate": False, "pending_update_count": 0})
        return 200, _ok(True)  # setWebhook, deleteWebhook, answerCallbackQuery

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                prefix = f"/bot{api.token}/"
                if not self.path.startswith(prefix):
                    self._reply(401, json.dumps(_error(401, description="Unauthorized")).encode())
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                params = json.loads(raw or b"{}")
                status, body = api.answer(self.path[len(prefix) :], params)
                self._reply(status, json.dumps(body).encode())

            def do_GET(self) -> None:
                prefix = f"/file/bot{api.token}/photos/"
                name = self.path[len(prefix) :].removesuffix(".jpg") if self.path.startswith(prefix) else ""
                if name not in api.files:
                    self._reply(404, b'{"ok":false,"error_code":404,"description":"Not Found"}')
                    return
                self._reply(200, api.files[name], "application/octet-stream")

        return Handler


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _error(status: int, *, description: str = "", retry_after: int | None = None) -> dict[str, Any]:
    texts = {
        429: "Too Many Requests: retry after {n}",
        403: "Forbidden: bot was blocked by the user",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }
    body: dict[str, Any] = {
        "ok": False,
        "error_code": status,
        "description": description or texts.get(status, "Bad Request").format(n=retry_after or 0),
    }
    if status == 429:
        body["parameters"] = {"retry_after": retry_after if retry_after is not None else 5}
    return body


# Recorded real-format updates (field for field as the Bot API sends them; ids changed).
def text_update(
    update_id: int, text: str, *, user_id: int = 5123456789, language: str = "en"
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100000,
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": "Wei",
                "last_name": "Zhang",
                "username": "wei_zhang_88",
                "language_code": language,
            },
            "chat": {
                "id": user_id,
                "first_name": "Wei",
                "last_name": "Zhang",
                "username": "wei_zhang_88",
                "type": "private",
            },
            "date": 1765100000,
            "text": text,
            **(
                {"entities": [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


def photo_update(
    update_id: int, file_id: str, size: int, *, user_id: int = 5123456789, caption: str = ""
) -> dict[str, Any]:
    update = text_update(update_id, "", user_id=user_id)
    message = update["message"]
    del message["text"]
    message["photo"] = [
        {"file_id": file_id + "-s", "file_unique_id": "AQADs", "file_size": 1200, "width": 90, "height": 67},
        {"file_id": file_id, "file_unique_id": "AQADm", "file_size": size, "width": 1280, "height": 960},
    ]
    if caption:
        message["caption"] = caption
    return update


def callback_update(update_id: int, *, user_id: int, keyboard: dict[str, Any], data: str) -> dict[str, Any]:
    sender = {"id": user_id, "is_bot": False, "first_name": "Wei", "language_code": "en"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": sender,
            "message": {
                "message_id": 77,
                "from": {
                    "id": 123456789,
                    "is_bot": True,
                    "first_name": "Kefu",
                    "username": "kefu_support_bot",
                },
                "chat": {"id": user_id, "first_name": "Wei", "type": "private"},
                "date": 1765100001,
                "text": "Just to be sure — which of these do you mean?",
                "reply_markup": keyboard,
            },
            "chat_instance": "-8034290485273519433",
            "data": data,
        },
    }
