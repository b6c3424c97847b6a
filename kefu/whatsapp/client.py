"""The WhatsApp Business Cloud API (Graph API) as Kefu calls it: one typed client, plain httpx.

httpx rather than an SDK: Kefu needs four calls (send a message, look up a media URL, download
it, and the webhook's signature check), and Meta's Python SDKs wrap the whole Graph API while
trailing its versions. Errors are sorted here into the two kinds the outbox knows: passing
(rate limits, 5xx, a network error: retried with back-off) and final (outside the 24-hour
window, an invalid recipient: failed at once with the reason).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from kefu.inbox.adapters.base import SendFailed, SendRejected
from kefu.inbox.models import Inbox

if TYPE_CHECKING:
    import httpx


logger = logging.getLogger(__name__)

# Graph API error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131048, 131056})
RE_ENGAGEMENT = 131047  # more than 24 hours since the customer's last message
# Sending again cannot help: the recipient, the message or the template is wrong.
FINAL_CODES = frozenset({RE_ENGAGEMENT, 100, 131008, 131009, 131021, 131026, 131051, 131052, 131053})
FINAL_CODE_RANGES = ((132000, 132999),)  # template errors (missing, paused, parameter mismatch)


@dataclass(frozen=True)
class Config:
    verify_token: str
    app_secret: str
    access_token: str
    phone_number_id: str
    api_url: str

    @property
    def enabled(self) -> bool:
        return bool(self.verify_token and self.app_secret)


def config(inbox: Inbox | None = None) -> Config:
    """The deployment's settings, overridden by an inbox's sealed credentials when an admin set
    them (a JSON object with any of verify_token, app_secret, access_token, phone_number_id)."""
    own: dict[str, Any] = {}
    if inbox is not None and inbox.credentials_sealed:
        try:
            loaded = json.loads(inbox.credentials)
            own = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            logger.warning(
                "WhatsApp inbox %s: credentials are not a JSON object; using the settings", inbox.pk
            )
    return Config(
        verify_token=str(own.get("verify_token") or settings.KEFU_WHATSAPP_VERIFY_TOKEN or ""),
        app_secret=str(own.get("app_secret") or settings.KEFU_WHATSAPP_APP_SECRET or ""),
        access_token=str(own.get("access_token") or settings.KEFU_WHATSAPP_ACCESS_TOKEN or ""),
        phone_number_id=str(own.get("phone_number_id") or settings.KEFU_WHATSAPP_PHONE_NUMBER_ID or ""),
        api_url=str(settings.KEFU_WHATSAPP_API_URL or "").rstrip("/"),
    )


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``, compared in constant time."""
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def sign(secret: str, body: bytes) -> str:
    """The header value Meta sends for ``body`` (tests and the benchmark sign with it)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _is_final(code: int) -> bool:
    return code in FINAL_CODES or any(low <= code <= high for low, high in FINAL_CODE_RANGES)


def error_of(response: httpx.Response) -> SendFailed:
    """The outbox's exception for a Graph API error response (never quoting the message sent)."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    code = int(error.get("code") or 0) if str(error.get("code") or "0").isdigit() else 0
    title = str(error.get("message") or response.reason_phrase or "")[:200]
    if response.status_code == 429 or code in RATE_LIMIT_CODES:
        return SendFailed(f"rate limited (HTTP {response.status_code}, code {code}): {title}")
    if response.status_code >= 500:
        return SendFailed(f"WhatsApp server error (HTTP {response.status_code}, code {code}): {title}")
    if code == RE_ENGAGEMENT:
        return SendRejected(
            f"outside the 24-hour customer-service window (code {code}): only an approved template can be sent"
        )
    if _is_final(code):
        return SendRejected(f"refused by WhatsApp (code {code}): {title}")
    return SendFailed(f"WhatsApp error (HTTP {response.status_code}, code {code}): {title}")


class Client:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.cfg.access_token}"}

    def send(self, payload: dict[str, Any]) -> str:
        """``POST {api}/{phone_number_id}/messages``; the message id (``wamid…``) it returns."""
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        if not (self.cfg.access_token and self.cfg.phone_number_id):
            raise SendFailed(
                "WhatsApp sending is not configured (KEFU_WHATSAPP_ACCESS_TOKEN, _PHONE_NUMBER_ID)"
            )
        url = f"{self.cfg.api_url}/{self.cfg.phone_number_id}/messages"
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **payload}
        try:
            response = httpx.post(
                url, json=body, headers=self._headers(), timeout=settings.KEFU_WHATSAPP_TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise SendFailed(f"WhatsApp unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise error_of(response)
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise SendFailed("WhatsApp answered without a message id") from None

    def phone_number(self) -> dict[str, Any]:
        """``GET {api}/{phone_number_id}``: the number, its verified name and quality rating
        (the health check: the token and the number work). Short timeout: an admin page waits."""
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        try:
            answer = httpx.get(
                f"{self.cfg.api_url}/{self.cfg.phone_number_id}",
                params={"fields": "display_phone_number,verified_name,quality_rating"},
                headers=self._headers(),
                timeout=min(3.0, float(settings.KEFU_WHATSAPP_TIMEOUT)),
            )
        except httpx.HTTPError as exc:
            raise SendFailed(f"WhatsApp unreachable: {type(exc).__name__}") from None
        if answer.status_code != 200:
            raise error_of(answer)
        found: dict[str, Any] = answer.json()
        return found

    def media(self, media_id: str, *, limit: int) -> tuple[bytes, str] | None:
        """A customer's photo or document: the media id's URL, then the bytes (with the same
        token). None when it is larger than ``limit`` (said before or found while downloading)
        or no longer there; a rate limit or a server error raises (the job retries)."""
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        timeout = settings.KEFU_WHATSAPP_TIMEOUT
        answer = httpx.get(f"{self.cfg.api_url}/{media_id}", headers=self._headers(), timeout=timeout)
        if answer.status_code == 429 or answer.status_code >= 500:
            raise error_of(answer)  # passing: the job retries with back-off
        if answer.status_code != 200:
            return None  # gone or not ours (media ids expire): skipped with a note, not retried
        info = answer.json()
        if int(info.get("file_size") or 0) > limit:
            return None
        with httpx.stream("GET", str(info["url"]), headers=self._headers(), timeout=timeout) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise error_of(response)
            if response.status_code != 200:
                return None
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
        return b"".join(chunks), str(info.get("mime_type") or "")
