"""Telnyx TeXML: the same call flow, another provider (``KEFU_PHONE_PROVIDER=telnyx``).

TeXML answers the TwiML Kefu renders (``<Say>``, ``<Gather>``, ``<Redirect>``, ``<Enqueue>`` with
a wait URL, ``<Leave>``, ``<Dial>`` with ``<Queue>`` or ``<Number>``, ``<Record>``, ``<Hangup>``)
and posts the same form-encoded fields (CallSid, From, To, Digits, QueuePosition, CallStatus...).
What differs is the proof of origin and the REST API:

- Every webhook carries ``telnyx-signature-ed25519`` (base64) and ``telnyx-timestamp`` (Unix
  seconds): an Ed25519 signature, by the account's key pair, over ``"{timestamp}|{raw body}"``.
  Kefu checks it with the account's public key (``KEFU_TELNYX_PUBLIC_KEY``, from the portal) and
  refuses a timestamp more than :data:`REPLAY_WINDOW_SECONDS` away from now, so a captured
  request cannot be replayed later (within the window, every step is idempotent per CallSid).
- Texts go through the Messages API and outbound calls (agents, call-backs) through the TeXML
  calls API of the TeXML application (``KEFU_TELNYX_APPLICATION_ID``), JSON with a Bearer key.
"""

from __future__ import annotations

import base64
import binascii
import time
from functools import lru_cache
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.http import HttpRequest

from kefu.identity.sms import SmsError
from kefu.phone.provider import tls_context

# How far the signed timestamp may be from now, either way (the provider's own advice: 5 min).
REPLAY_WINDOW_SECONDS = 300
TIMEOUT_SECONDS = 10.0


@lru_cache(maxsize=4)
def _public_key(encoded: str) -> Ed25519PublicKey | None:
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error):
        return None  # not a 32-byte key in base64: nothing is trusted


def signature_valid(request: HttpRequest, *, now: float | None = None) -> bool:
    """Whether the webhook is Telnyx's: a valid Ed25519 signature over the timestamp and the raw
    body, by the configured public key, with a timestamp inside the replay window."""
    key = _public_key(str(settings.KEFU_TELNYX_PUBLIC_KEY or ""))
    signature = request.headers.get("Telnyx-Signature-Ed25519", "")
    stamp = request.headers.get("Telnyx-Timestamp", "")
    if key is None or not signature or not stamp.isdigit() or len(stamp) > 12:
        return False
    if abs((now if now is not None else time.time()) - int(stamp)) > REPLAY_WINDOW_SECONDS:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), stamp.encode() + b"|" + request.body)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


class TelnyxRest:
    """Texts and outbound calls through Telnyx's REST API (JSON, ``Authorization: Bearer``)."""

    def __init__(self, *, base_url: str, api_key: str, application_id: str, number: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.application_id = application_id
        self.number = number

    def _post(self, path: str, payload: dict[str, str], what: str) -> dict[str, object]:
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        try:
            with httpx.Client(timeout=TIMEOUT_SECONDS, verify=tls_context()) as client:
                response = client.post(
                    self.base_url + path,
                    json=payload,
                    headers={"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"},
                )
        except httpx.HTTPError as exc:
            raise SmsError(f"Telnyx unreachable: {type(exc).__name__}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status_code >= 400:
            errors = answer.get("errors")
            first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
            detail = str(first.get("detail") or first.get("title") or response.reason_phrase)
            raise SmsError(f"Telnyx refused the {what} ({response.status_code}): {detail[:300]}")
        return answer

    def send_sms(self, *, to: str, body: str) -> str:
        answer = self._post("/v2/messages", {"from": self.number, "to": to, "text": body}, "text")
        data = answer.get("data")
        message_id = data.get("id") if isinstance(data, dict) else None
        if not message_id:
            raise SmsError("Telnyx accepted the text without an id")
        return str(message_id)

    def create_call(self, *, to: str, url: str, status_callback: str) -> str:
        answer = self._post(
            f"/v2/texml/calls/{quote(self.application_id, safe='')}",
            {
                "From": self.number,
                "To": to,
                "Url": url,
                "UrlMethod": "POST",
                "StatusCallback": status_callback,
                "StatusCallbackMethod": "POST",
            },
            "call",
        )
        call_sid = answer.get("call_sid") or answer.get("sid")
        if not call_sid:
            raise SmsError("Telnyx accepted the call without a call SID")
        return str(call_sid)


def rest() -> TelnyxRest:
    return TelnyxRest(
        base_url=str(settings.KEFU_TELNYX_API_URL),
        api_key=str(settings.KEFU_TELNYX_API_KEY or ""),
        application_id=str(settings.KEFU_TELNYX_APPLICATION_ID or ""),
        number=str(settings.KEFU_PHONE_NUMBER or ""),
    )
