"""Sending text messages through an SMS provider's REST API.

:class:`SmsSender` is the interface; :class:`HttpSmsSender` speaks the widely cloned
``/2010-04-01/Accounts/{account}/Messages.json`` format (form fields ``To``/``From``/``Body``,
HTTP basic auth, JSON reply with ``sid``; errors as JSON with ``code`` and ``message``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

from kefu.identity import conf

if TYPE_CHECKING:
    import httpx


class SmsError(Exception):
    """The message was not accepted. ``code``/``status`` come from the provider when it said why."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    @property
    def retryable(self) -> bool:
        """Network trouble, rate limiting or a provider outage may pass; a bad number will not."""
        return self.status is None or self.status == 429 or self.status >= 500


class SmsSender(Protocol):
    def send(self, *, to_e164: str, text: str) -> str:
        """Send ``text`` to ``to_e164`` and return the provider's message id; raise :class:`SmsError`."""
        ...


class HttpSmsSender:
    """A provider reached over HTTPS with an account id and an auth token."""

    def __init__(
        self,
        *,
        base_url: str,
        account: str,
        token: str,
        sender: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.token = token
        self.sender = sender
        self.timeout = timeout
        self._transport = transport

    def send(self, *, to_e164: str, text: str) -> str:
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        url = f"{self.base_url}/2010-04-01/Accounts/{quote(self.account, safe='')}/Messages.json"
        try:
            with httpx.Client(
                auth=(self.account, self.token),
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
                transport=self._transport,
                follow_redirects=False,
            ) as client:
                response = client.post(url, data={"To": to_e164, "From": self.sender, "Body": text})
        except httpx.TimeoutException as exc:
            raise SmsError("SMS provider timed out") from exc
        except httpx.HTTPError as exc:
            raise SmsError(f"SMS provider unreachable: {type(exc).__name__}") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if response.status_code >= 400:
            code = payload.get("code")
            # The provider's message names the problem (bad number, auth); it never contains
            # the text we sent, so it is safe to keep for logs.
            message = str(payload.get("message") or response.reason_phrase or "error")[:300]
            raise SmsError(
                f"SMS provider refused the message ({response.status_code}): {message}",
                code=None if code is None else str(code),
                status=response.status_code,
            )
        sid = payload.get("sid")
        if not sid:
            raise SmsError("SMS provider reply has no message id", status=response.status_code)
        return str(sid)


def get_sms_sender() -> SmsSender | None:
    """The configured sender, or None when no provider is set up (then codes go by email only)."""
    url, account, token = conf.sms_url(), conf.sms_account(), conf.sms_token()
    if not (url and account and token):
        return None
    return HttpSmsSender(
        base_url=url, account=account, token=token, sender=conf.sms_from(), timeout=conf.sms_timeout()
    )
