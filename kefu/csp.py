"""Content-Security-Policy for every HTML page.

Scripts run only from our own origin or from an inline ``<script>`` carrying this response's
nonce (``<script nonce="{{ csp_nonce }}">``, the context processor below), never from
``on*=`` attributes or injected markup: an XSS that slips past escaping cannot execute.
Inline styles stay allowed (``style=""`` bars and small page styles), which cannot run code.
Pages that set their own policy keep it.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

HEADER = "Content-Security-Policy"


def nonce(request: HttpRequest) -> str:
    value = getattr(request, "_csp_nonce", None)
    if value is None:
        value = secrets.token_urlsafe(18)
        request._csp_nonce = value  # type: ignore[attr-defined]
    return value


def policy(request: HttpRequest, script_nonce: str | None) -> str:
    scripts = "'self'" + (f" 'nonce-{script_nonce}'" if script_nonce else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            # 'self' covers same-origin WebSockets (CSP level 3, every current browser).
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if HEADER in response or not response.get("Content-Type", "").startswith("text/html"):
            return response
        response[HEADER] = policy(request, getattr(request, "_csp_nonce", None))
        return response


def context(request: HttpRequest) -> dict[str, object]:
    """``{{ csp_nonce }}`` for inline scripts; the nonce is made only when a template uses it."""

    class _Lazy:
        def __str__(self) -> str:
            return nonce(request)

        __html__ = __str__

    return {"csp_nonce": _Lazy()}
