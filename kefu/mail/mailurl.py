"""``KEFU_EMAIL_URL`` → Django's ``EMAIL_*`` settings. Standard library only: settings.py imports it.

Forms understood (a superset of ``kefu.identity.mailurl`` so either can be splatted)::

    smtp://user:pass@host:port               plain SMTP (port 25)
    smtp://user:pass@host:587?starttls=1     STARTTLS (``?tls=1`` and ``smtp+tls://`` work too)
    smtps://user:pass@host:465               SMTP over TLS
    console://                               print mail to the console (development only)

Query options: ``timeout`` (seconds, default 10), ``from`` (sets DEFAULT_FROM_EMAIL).
User and password are percent-decoded, so ``@`` in a password is written ``%40``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_TRUE = {"1", "true", "yes", "on"}


def email_backend_settings(url: str | None) -> dict[str, Any]:
    """Django email settings for ``url``; an empty URL gives an empty dict (Django's defaults).

    Raises ``ValueError`` for an unknown scheme or a missing host, so a typo fails at start-up
    rather than at the first acknowledgement.
    """
    url = (url or "").strip()
    if not url:
        return {}
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {key.lower(): values[-1] for key, values in parse_qs(parts.query).items()}
    out: dict[str, Any] = {}
    if scheme == "console":
        out["EMAIL_BACKEND"] = "django.core.mail.backends.console.EmailBackend"
    elif scheme in ("smtp", "smtp+tls", "smtps"):
        if not parts.hostname:
            raise ValueError("KEFU_EMAIL_URL needs a host, e.g. smtp://user:pass@mail.example:587")
        use_ssl = scheme == "smtps" or query.get("ssl", "").lower() in _TRUE
        starttls = query.get("starttls", query.get("tls", "")).lower() in _TRUE
        use_tls = not use_ssl and (scheme == "smtp+tls" or starttls)
        default_port = 465 if use_ssl else 587 if use_tls else 25
        out.update(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST=parts.hostname,
            EMAIL_PORT=parts.port or default_port,
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_TLS=use_tls,
            EMAIL_USE_SSL=use_ssl,
            EMAIL_TIMEOUT=int(query.get("timeout", 10)),
        )
    else:
        raise ValueError(f"KEFU_EMAIL_URL: unsupported scheme {scheme!r} (use smtp, smtps or console)")
    if sender := query.get("from"):
        out["DEFAULT_FROM_EMAIL"] = sender
    return out
