"""Mail settings, read at call time so that tests can override them with ``settings``.

Every knob is a ``KEFU_...`` Django setting declared with its default in ``kefu.conf``;
settings.py fills them all from the environment.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def _get(name: str) -> Any:
    return getattr(settings, name)


def support_address() -> str:
    """The address customers write to; sender and Reply-To of every outbound mail."""
    return str(_get("KEFU_SUPPORT_EMAIL")).strip().lower()


def support_domain() -> str:
    """The domain of our Message-IDs."""
    return support_address().rpartition("@")[2] or "kefu.example"


def inbound_addresses() -> set[str]:
    """Recipients the SMTP receiver accepts mail for (``KEFU_MAIL_INBOUND_ADDRESSES``, comma list)."""
    configured = _get("KEFU_MAIL_INBOUND_ADDRESSES")
    if isinstance(configured, str):
        configured = [item for item in configured.split(",") if item.strip()]
    addresses = {str(item).strip().lower() for item in configured}
    return addresses or {support_address()}


def accepts_recipient(address: str) -> bool:
    """Whether mail to ``address`` is ours to take: a support address, also with a
    ``+tag`` after its local part (``support+KF-123@…``)."""
    local, _, domain = (address or "").strip().lower().rpartition("@")
    plain = f"{local.split('+', 1)[0]}@{domain}"
    accepted = inbound_addresses()
    return address.strip().lower() in accepted or plain in accepted


def own_addresses() -> set[str]:
    """Addresses whose mail is ours: mail from them is a loop, never a customer."""
    return inbound_addresses() | {support_address()}


def brand_name() -> str:
    return str(_get("KEFU_BRAND_NAME"))


def base_url() -> str:
    return str(_get("KEFU_BASE_URL")).rstrip("/")


def max_bytes() -> int:
    """Largest mail accepted (SMTP ``SIZE`` and the IMAP fetch limit), 25 MB by default."""
    return int(_get("KEFU_MAIL_MAX_BYTES"))


def notifications_enabled() -> bool:
    """Whether acknowledgements and replies are queued at all.

    ``KEFU_MAIL_NOTIFICATIONS`` decides when set; otherwise they are on exactly when
    ``KEFU_EMAIL_URL`` says where to send them, so an unconfigured install never piles up an
    outbox it cannot deliver.
    """
    explicit = settings.KEFU_MAIL_NOTIFICATIONS
    if explicit is not None:
        return bool(explicit)
    return bool(_get("KEFU_EMAIL_URL"))


def max_attempts() -> int:
    """Attempts before an inbound or outbound mail is marked failed for an admin to retry."""
    return int(_get("KEFU_MAIL_MAX_ATTEMPTS"))


def sender_rate() -> tuple[int, int]:
    """Mails per sender per window (count, seconds) before further ones are ignored as a loop."""
    count, _, seconds = str(_get("KEFU_MAIL_SENDER_RATE")).partition("/")
    return int(count), int(seconds or 3600)


def smtp_listen() -> str:
    """``host:port`` for the SMTP receiver; empty: no receiver."""
    return str(_get("KEFU_SMTP_LISTEN"))


def smtp_hostname() -> str:
    """The name the receiver greets with."""
    return str(_get("KEFU_SMTP_HOSTNAME") or support_domain())


def imap_url() -> str:
    """``imaps://user:pass@host:993/INBOX``; empty: no poller."""
    return str(_get("KEFU_IMAP_URL"))


def imap_interval() -> float:
    return float(_get("KEFU_IMAP_INTERVAL"))


def worker_interval() -> float:
    """Seconds between sweeps of pending inbound mail and the outbox when nothing wakes the worker."""
    return float(_get("KEFU_MAIL_WORKER_INTERVAL"))
