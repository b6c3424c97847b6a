"""The Telegram Bot API as Kefu calls it: one typed client, plain httpx.

Why httpx and not aiogram 3 or python-telegram-bot: Kefu needs a handful of methods
(sendMessage, answerCallbackQuery, getUpdates, setWebhook, getWebhookInfo, getMe, getFile and the
file download) called from synchronous jobs (``kefu.inbox.tasks.deliver``) and a webhook view;
both libraries are asyncio frameworks with their own dispatcher, update loop and retry policy,
which would sit beside the pipeline's durable events and outbox rather than under them. httpx is
already a pinned dependency (``httpx==0.28.1``) and the Bot API is plain JSON over HTTPS.

Errors are sorted here into the outbox's kinds: passing (429 with ``retry_after``: wait that
long; 5xx; a network error: back-off) and final (403: the user blocked the bot; 400: the chat or
the message is wrong): ``SendRejected``, failed at once with the reason.
"""

from __future__ import annotations

import hmac
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from kefu.inbox.adapters.base import SendFailed, SendRejected

if TYPE_CHECKING:
    import httpx


logger = logging.getLogger(__name__)


class _HideToken(logging.Filter):
    """httpx logs each request's URL, and a Bot API URL holds the bot's token: never in a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            token = str(settings.KEFU_TELEGRAM_BOT_TOKEN or "")
        except Exception:  # settings not loaded yet: nothing of ours to hide
            return True
        if token and token in str(record.msg) + str(record.args):
            record.msg = record.getMessage().replace(token, "<token>")
            record.args = ()
        return True


logging.getLogger("httpx").addFilter(_HideToken())

DEFAULT_API_URL = "https://api.telegram.org"
# Telegram's own limit for a bot's file download through the public Bot API.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
TEXT_LIMIT = 4096  # sendMessage's text limit (characters)


@dataclass(frozen=True)
class Config:
    token: str
    webhook_secret: str
    api_url: str

    @property
    def enabled(self) -> bool:
        return bool(self.token)


def config() -> Config:
    return Config(
        token=str(settings.KEFU_TELEGRAM_BOT_TOKEN or ""),
        webhook_secret=str(settings.KEFU_TELEGRAM_WEBHOOK_SECRET or ""),
        api_url=str(settings.KEFU_TELEGRAM_API_URL or DEFAULT_API_URL).rstrip("/"),
    )


def secret_ok(expected: str, header: str | None) -> bool:
    """``X-Telegram-Bot-Api-Secret-Token`` against the configured secret, in constant time."""
    if not expected or not header:
        return False
    return hmac.compare_digest(expected.encode(), header.encode())


class TelegramError(SendFailed):
    """The Bot API answered ``ok: false`` (or not JSON): passing unless a subclass says final."""

    def __init__(self, method: str, code: int, description: str, retry_after: float | None = None) -> None:
        self.method = method
        self.code = code
        self.description = description
        self.retry_after = retry_after
        super().__init__(f"{method}: {code} {description}".strip())


class TelegramRejected(TelegramError, SendRejected):
    """A final answer (403 blocked by the user, 400 a bad chat or message): retrying cannot help."""


def _error(method: str, status: int, body: Any) -> TelegramError:
    data = body if isinstance(body, dict) else {}
    code = int(data.get("error_code") or status or 0)
    description = str(data.get("description") or "")[:300]
    parameters = data.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if code == 429:
        try:
            wait = float(retry_after) if retry_after is not None else None
        except (TypeError, ValueError):
            wait = None
        return TelegramError(method, code, description or "Too Many Requests", retry_after=wait)
    if code in (400, 403, 404) and method != "getUpdates":
        return TelegramRejected(method, code, description)
    return TelegramError(method, code, description)


_pool: httpx.Client | None = None
_pool_lock = threading.Lock()


def _http() -> httpx.Client:
    """One connection pool per process (httpx.Client is thread-safe): a fresh client per call
    built an SSL context and a connection each time (~0.1 s a call under load)."""
    import httpx  # on first use: ~5 MB kept out of every process's start-up
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = httpx.Client(limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))
    return _pool


class Client:
    """One bot's Bot API: ``{api_url}/bot{token}/{method}`` (tests point api_url at a local server)."""

    def __init__(self, cfg: Config | None = None, *, timeout: float = 10.0) -> None:
        self.cfg = cfg or config()
        self.timeout = timeout

    def call(self, method: str, *, http_timeout: float | None = None, **params: Any) -> Any:
        """The method's ``result``; raises :class:`TelegramError` (or a subclass) otherwise.

        The token is part of the URL: never logged (errors name the method only)."""
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        url = f"{self.cfg.api_url}/bot{self.cfg.token}/{method}"
        try:
            # ``timeout`` is a Bot API parameter (getUpdates' long poll): ours has another name.
            response = _http().post(url, json=params, timeout=http_timeout or self.timeout)
        except httpx.HTTPError as exc:
            raise TelegramError(method, 0, f"network error: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        raise _error(method, response.status_code, body)

    def download(self, file_path: str, *, limit: int = MAX_DOWNLOAD_BYTES) -> bytes | None:
        """A file's bytes from ``{api_url}/file/bot{token}/{file_path}``; None if over ``limit``."""
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        url = f"{self.cfg.api_url}/file/bot{self.cfg.token}/{file_path}"
        chunks: list[bytes] = []
        size = 0
        try:
            with _http().stream("GET", url, timeout=self.timeout) as response:
                if response.status_code != 200:
                    raise TelegramError("download", response.status_code, "file download failed")
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        return None
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise TelegramError("download", 0, f"network error: {type(exc).__name__}") from None
        return b"".join(chunks)
