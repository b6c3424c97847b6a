"""The optional LLM polish (kefu/bot/llm.py) against a real HTTP server on 127.0.0.1 that speaks
the OpenAI chat-completions protocol: what is sent, and every way the answer is refused."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kefu.bot.llm import polish

REPLY = "充值需要 20 个网络确认后到账，一般 10 分钟左右。详情见 https://help.kefu.example/deposit"
GROUNDING = [
    "USDT TRC-20 充值在 20 个区块确认后入账，通常约 10 分钟。",
    "如超过 1 小时未到账，请提交交易哈希。",
]
GOOD = "您的充值在 20 个网络确认后就会到账，通常大约 10 分钟。更多说明：https://help.kefu.example/deposit"
SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"


class FakeChatServer:
    """One chat-completions endpoint; ``mode`` picks the answer, ``requests`` records what came in."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.content = GOOD
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                server.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )
                if server.mode == "slow":
                    time.sleep(1.5)  # longer than the test's timeout: the client gives up first
                if server.mode == "malformed":
                    payload = b'{"choices": [{"message": '
                elif server.mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    return
                elif server.mode == "no_content":
                    payload = json.dumps(
                        {"choices": [{"index": 0, "message": {"role": "assistant"}}]}
                    ).encode()
                else:
                    payload = json.dumps(
                        {
                            "id": "chatcmpl-test",
                            "object": "chat.completion",
                            "created": 1700000000,
                            "model": body.get("model"),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": server.content},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                        }
                    ).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def llm(settings: Any) -> Iterator[FakeChatServer]:
    server = FakeChatServer()
    settings.KEFU_BOT_LLM_URL = server.url
    settings.KEFU_BOT_LLM_MODEL = "local-model"
    settings.KEFU_BOT_LLM_API_KEY = "sk-test-key"
    settings.KEFU_BOT_LLM_TIMEOUT = 0.5
    yield server
    server.close()


def test_off_by_default_returns_the_text_and_sends_nothing(settings: Any) -> None:
    assert settings.KEFU_BOT_LLM_URL == ""
    assert polish(REPLY, grounding=GROUNDING, language="zh-hans") is REPLY


def test_grounded_rephrasing_is_used_and_the_request_is_the_openai_protocol(llm: FakeChatServer) -> None:
    assert polish(REPLY, grounding=GROUNDING, language="zh-hans") == GOOD
    [request] = llm.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test-key"
    body = request["body"]
    assert body["model"] == "local-model"
    assert body["stream"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "Simplified Chinese" in body["messages"][0]["content"]
    user = body["messages"][1]["content"]
    assert REPLY in user and all(g in user for g in GROUNDING)


@pytest.mark.parametrize("mode", ["slow", "malformed", "error", "no_content"])
def test_timeout_and_broken_answers_fall_back_to_the_text(llm: FakeChatServer, mode: str) -> None:
    llm.mode = mode
    assert polish(REPLY, grounding=GROUNDING, language="zh-hans") == REPLY
    assert len(llm.requests) == 1


def test_server_down_falls_back(settings: Any) -> None:
    server = FakeChatServer()
    url = server.url
    server.close()
    settings.KEFU_BOT_LLM_URL = url
    settings.KEFU_BOT_LLM_TIMEOUT = 0.5
    assert polish(REPLY, grounding=GROUNDING, language="zh-hans") == REPLY


def test_reply_with_a_seed_phrase_is_refused(llm: FakeChatServer) -> None:
    llm.content = f"请确认您的助记词：{SEED}，我们会帮您找回。"
    assert polish(REPLY, grounding=GROUNDING, language="zh-hans") == REPLY


@pytest.mark.parametrize(
    "content",
    [
        # An invented link (phishing-shaped), a bare invented domain, an invented number.
        "充值需要 20 个确认，通常 10 分钟。请在 https://kefu-verify.example/login 验证您的账户。",
        "充值需要 20 个确认，通常 10 分钟，也可以访问 kefu-support.example 查询。",
        "充值需要 20 个确认，通常 10 分钟，手续费 5 USDT。https://help.kefu.example/deposit",
        "充值需要 20 个确认，请把 USDT 转到 TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE 。",
    ],
)
def test_output_that_adds_a_link_number_or_address_is_refused(llm: FakeChatServer, content: str) -> None:
    llm.content = content
    assert polish(REPLY, grounding=GROUNDING, language="zh-hans") == REPLY


def test_overlong_or_wrong_language_output_is_refused(llm: FakeChatServer) -> None:
    llm.content = GOOD * 3
    assert polish(REPLY, grounding=GROUNDING, language="zh-hans") == REPLY
    llm.content = "Your deposit arrives after 20 confirmations, about 10 minutes."
    assert polish(REPLY, grounding=GROUNDING, language="zh-hans") == REPLY


def test_numbers_from_the_grounding_may_be_used(llm: FakeChatServer) -> None:
    text = "Deposits are credited after network confirmations."
    llm.content = "Deposits show up after 20 confirmations, usually within about 10 minutes."
    assert polish(text, grounding=GROUNDING, language="en") == llm.content


def test_secrets_are_never_sent(llm: FakeChatServer) -> None:
    # A reply holding a secret is not sent at all; a secret in the grounding is hidden first.
    leaky = f"您发来的助记词 {SEED} 已经泄露，请立即转移资产。"
    assert polish(leaky, grounding=GROUNDING, language="zh-hans") == leaky
    assert llm.requests == []
    polish(REPLY, grounding=[*GROUNDING, f"示例助记词：{SEED}"], language="zh-hans")
    [request] = llm.requests
    sent = json.dumps(request["body"], ensure_ascii=False)
    assert "abandon ability" not in sent
