"""Security headers and the HTTPS settings: CSP on every HTML page, Secure cookies, HSTS and the
proxy's SSL header from the environment."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

KEFU = Path(__file__).resolve().parents[1]


def settings_in(env: dict[str, str]) -> dict:
    """The settings a fresh process builds from this environment."""
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k, None) for k in "
        "['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_PROXY_SSL_HEADER', 'KEFU_TICKET_CREATE_RATE', "
        "'KEFU_TRUSTED_PROXIES', 'KEFU_LOGIN_RATE']}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_") or k == "KEFU_DATA_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "kefu.settings", **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=KEFU.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_https_settings_come_from_the_environment():
    defaults = settings_in({})
    assert defaults["SESSION_COOKIE_SECURE"] is False and defaults["SECURE_HSTS_SECONDS"] == 0
    assert defaults["SECURE_PROXY_SSL_HEADER"] is None
    configured = settings_in(
        {
            "KEFU_SECURE_COOKIES": "1",
            "KEFU_HSTS_SECONDS": "31536000",
            "KEFU_HSTS_INCLUDE_SUBDOMAINS": "yes",
            "KEFU_PROXY_SSL_HEADER": "X-Forwarded-Proto",
            "KEFU_TICKET_CREATE_RATE": "5/60",
            "KEFU_TRUSTED_PROXIES": "10.0.0.0/8",
            "KEFU_LOGIN_RATE": "7/120",
        }
    )
    assert configured == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "KEFU_TICKET_CREATE_RATE": "5/60",
        "KEFU_TRUSTED_PROXIES": "10.0.0.0/8",
        "KEFU_LOGIN_RATE": "7/120",
    }


def test_behind_the_proxy_requests_are_secure_and_get_hsts(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 600
    response = Client().get("/", HTTP_X_FORWARDED_PROTO="https")
    assert response["Strict-Transport-Security"] == "max-age=600"
    assert "Strict-Transport-Security" not in Client().get("/")  # plain HTTP: no HSTS


def test_html_pages_carry_a_policy_without_inline_scripts():
    response = Client().get("/")
    policy = response["Content-Security-Policy"]
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "Content-Security-Policy" not in Client().get("/api/v1/categories")  # JSON: not a page


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\b(?:src|nonce)=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE
)


def test_no_template_has_an_inline_handler_or_an_inline_script_without_the_nonce():
    offenders = []
    for path in KEFU.rglob("templates/**/*.html"):
        if "/mail/" in str(path):  # mail bodies are not web pages
            continue
        text = re.sub(r"\{#.*?#\}", "", path.read_text())  # template comments say how
        for pattern in (INLINE_HANDLER, INLINE_SCRIPT):
            offenders += [f"{path.relative_to(KEFU)}: {m.group(0)[:80]}" for m in pattern.finditer(text)]
    assert offenders == []


def test_kefu_serve_leaves_x_forwarded_for_to_kefu(settings):
    """uvicorn (as ``kefu serve`` runs it) passes the real peer; kefu.clientip alone decides."""
    import asyncio

    import uvicorn

    from kefu.clientip import client_ip_from_scope
    from kefu.serve import uvicorn_options

    seen: dict = {}

    async def app(scope, receive, send):
        seen.update(scope)

    options = {k: v for k, v in uvicorn_options().items() if k != "log_config"}
    config = uvicorn.Config(app, **options)
    config.load()
    scope = {
        "type": "http",
        "scheme": "http",
        "client": ("127.0.0.1", 5000),
        "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-proto", b"https")],
    }
    asyncio.run(config.loaded_app(scope, None, None))
    assert seen["client"] == ("127.0.0.1", 5000) and seen["scheme"] == "http"
    settings.KEFU_TRUSTED_PROXIES = ""
    assert client_ip_from_scope(seen) == "127.0.0.1"  # a local client cannot choose its address
    settings.KEFU_TRUSTED_PROXIES = "127.0.0.1"
    assert client_ip_from_scope(seen) == "6.6.6.6"  # behind our own proxy: its word
