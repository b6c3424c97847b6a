"""The telephony provider's REST API (Twilio's; SignalWire speaks the same): texts and outbound
calls. Form-encoded requests with Basic auth (account SID and auth token) to
``KEFU_TWILIO_API_URL``; tests point it at a local server speaking the same protocol."""

from __future__ import annotations

import functools
import ssl
from typing import Protocol
from urllib.parse import quote

from django.conf import settings

from kefu.identity.sms import HttpSmsSender, SmsError

TIMEOUT_SECONDS = 10.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process for the provider's API. httpx builds a new one for every
    client, loading the whole CA bundle: ~20 ms of CPU per text or call placed (py-spy, the job
    threads under the phone benchmark), holding the GIL the webhooks' thread needs."""
    import httpx  # on first use: ~5 MB kept out of every process's start-up
    return httpx.create_ssl_context()


class Telephony(Protocol):
    def send_sms(self, *, to: str, body: str) -> str:
        """Send a text from the hotline's number; the provider's message SID. Raises SmsError."""
        ...

    def create_call(self, *, to: str, url: str, status_callback: str) -> str:
        """Dial ``to`` from the hotline's number; ``url`` answers with TwiML. The call SID."""
        ...


class TwilioRest:
    def __init__(self, *, base_url: str, account_sid: str, auth_token: str, number: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.number = number

    def send_sms(self, *, to: str, body: str) -> str:
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        # The identity app's sender already speaks this API (Messages.json): one implementation.
        sender = HttpSmsSender(
            base_url=self.base_url,
            account=self.account_sid,
            token=self.auth_token,
            sender=self.number,
            timeout=TIMEOUT_SECONDS,
            transport=httpx.HTTPTransport(verify=tls_context()),
        )
        return sender.send(to_e164=to, text=body)

    def create_call(self, *, to: str, url: str, status_callback: str) -> str:
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        endpoint = f"{self.base_url}/2010-04-01/Accounts/{quote(self.account_sid, safe='')}/Calls.json"
        data = {
            "To": to,
            "From": self.number,
            "Url": url,
            "Method": "POST",
            "StatusCallback": status_callback,
            "StatusCallbackMethod": "POST",
        }
        try:
            with httpx.Client(
                auth=(self.account_sid, self.auth_token), timeout=TIMEOUT_SECONDS, verify=tls_context()
            ) as client:
                response = client.post(endpoint, data=data)
        except httpx.HTTPError as exc:
            raise SmsError(f"telephony provider unreachable: {type(exc).__name__}") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code >= 400 or not isinstance(payload, dict) or not payload.get("sid"):
            message = (
                str(payload.get("message") if isinstance(payload, dict) else "") or response.reason_phrase
            )
            raise SmsError(f"telephony provider refused the call ({response.status_code}): {message[:300]}")
        return str(payload["sid"])


def provider() -> Telephony:
    if settings.KEFU_PHONE_PROVIDER == "telnyx":
        from kefu.phone.telnyx import rest

        return rest()
    return TwilioRest(
        base_url=str(settings.KEFU_TWILIO_API_URL),
        account_sid=str(settings.KEFU_TWILIO_ACCOUNT_SID),
        auth_token=str(settings.KEFU_TWILIO_AUTH_TOKEN),
        number=str(settings.KEFU_PHONE_NUMBER),
    )
