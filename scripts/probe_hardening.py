#!/usr/bin/env python3
"""Black-box hardening probe for Kefu (issue 11, items 1-10).

Written without reading Kefu's source: only the README, docs/*.md, the running server's pages
and /api/v1/openapi.json were used.

Run against a fresh server with demo data (the probe plants data and trips limits):

    KEFU_DATA_DIR=/tmp/probe KEFU_SMTP_LISTEN=127.0.0.1:8125 .venv/bin/kefu serve --port 8100 \
        > /tmp/probe/server.log 2>&1 &
    .venv/bin/python scripts/probe_hardening.py --base-url http://127.0.0.1:8100 \
        --smtp 127.0.0.1:8125 --log-file /tmp/probe/server.log --docs-dir docs \
        --token-cmd "KEFU_DATA_DIR=/tmp/probe .venv/bin/kefu token create {email}"

Every check prints one line `item<N> <check-name> PASS|FAIL|SKIP <detail>`; SKIP means the
check could not be carried out (missing option, or an earlier step it needs was refused) and
counts neither way. Totals per item and `TOTAL pass=X fail=Y` come last.

Order matters and is fixed: contention first (fresh server), then read-mostly checks, then the
checks that poison data on a vulnerable server (item 1), then the rate-limit bursts (item 9),
then the sign-in lock-out checks on bob@example.com (item 2), then the log scan (items 3, 4).

When the base URL is http://127.0.0.1:PORT the probe opens connections from other loopback
addresses (127.0.0.2 ...) so that the server sees genuinely different client IPs; uvicorn's
default trusts X-Forwarded-For only from 127.0.0.1, so X-Forwarded-For spoofing is tried from
those other addresses (an untrusted client). For any other base URL those checks are SKIP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shlex
import smtplib
import struct
import subprocess
import threading
import time
import traceback
import uuid
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import quote, urlsplit

import httpx
import websockets
from mnemonic import Mnemonic

PASSWORD = "kefu-demo-2026"
RESULTS: list[tuple[int, str, str, str]] = []
STATUS_LOG: list[tuple[str, str, int]] = []  # (method, openapi path, status)
STATUS_LOCK = threading.Lock()
MNEMO = Mnemonic("english")
WORDS = set(MNEMO.wordlist)

# ----------------------------------------------------------------------------- reporting


def record(item: int, name: str, ok, detail: str = "") -> None:
    status = ok if isinstance(ok, str) else ("PASS" if ok else "FAIL")
    detail = re.sub(r"\s+", " ", str(detail)).strip()[:300]
    RESULTS.append((item, name, status, detail))
    print(f"item{item} {name} {status} {detail}", flush=True)


def check(item: int, name: str, fn, *a, **kw):
    """Run fn(*a, **kw) -> (ok, detail); an exception is a FAIL with its text."""
    try:
        out = fn(*a, **kw)
        if out is None:
            return None
        ok, detail = out
        record(item, name, ok, detail)
        return ok
    except Exception as exc:  # noqa: BLE001
        record(item, name, False, f"exception {type(exc).__name__}: {exc}")
        if os.environ.get("PROBE_DEBUG"):
            traceback.print_exc()
        return False


# ----------------------------------------------------------------------------- globals set in main
BASE = ""
WS_BASE = ""
HOST = ""
BIND = False  # can we open connections from other loopback addresses?
TIMEOUT = 60.0
OPENAPI_PATTERNS: list[tuple[re.Pattern, str, dict]] = []
TOKENS: dict[str, str] = {}
NONCE = ""
PLANTS: list[tuple[int, str, list[str]]] = []  # (item, check name, secrets that must not be logged)
ARGS = None


def ip(n: int):
    return f"127.0.0.{n}" if BIND else None


def _hook(response: httpx.Response):
    req = response.request
    path = req.url.path
    for rx, tmpl, ops in OPENAPI_PATTERNS:
        if rx.fullmatch(path) and req.method.lower() in ops:
            with STATUS_LOCK:
                STATUS_LOG.append((req.method.upper(), tmpl, response.status_code))
            break


def mk(local_ip: str | None = None, headers: dict | None = None) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=local_ip) if local_ip else None
    return httpx.Client(
        base_url=BASE,
        transport=transport,
        timeout=TIMEOUT,
        follow_redirects=False,
        headers=headers or {},
        event_hooks={"response": [_hook]},
    )


def anon(local_ip: str | None = None) -> httpx.Client:
    c = mk(local_ip)
    c.get("/accounts/login/")
    tok = c.cookies.get("csrftoken")
    if tok:
        c.headers["X-CSRFToken"] = tok
    return c


def tok_client(email: str, local_ip: str | None = None, lang: str | None = None) -> httpx.Client:
    h = {"Authorization": "Bearer " + TOKENS[email]}
    if lang:
        h["Accept-Language"] = lang
    return mk(local_ip, h)


CSRF_RX = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def form_token(html: str) -> str:
    m = CSRF_RX.search(html)
    return m.group(1) if m else ""


def is_signed_in(c: httpx.Client) -> bool:
    # the home page shows a sign-out form to signed-in users (does not depend on any ticket list)
    r = c.get("/", follow_redirects=True)
    return r.status_code == 200 and "accounts/logout" in r.text and "/accounts/login" not in str(r.url)


def login(email: str, pw: str = PASSWORD, local_ip=None, path="/accounts/login/", xff=None):
    """Returns (client, signed_in, response)."""
    c = mk(local_ip)
    r = c.get(path)
    data = {"csrfmiddlewaretoken": form_token(r.text), "username": email, "password": pw}
    if path.startswith("/admin"):
        data["next"] = "/admin/"
    h = {"X-Forwarded-For": xff} if xff else {}
    r = c.post(path, data=data, headers=h)
    ok = False
    if r.status_code in (301, 302, 303):
        loc = r.headers.get("location", "")
        ok = "/accounts/login" not in loc and "/admin/login" not in loc
    if ok and not path.startswith("/admin"):
        ok = is_signed_in(c)
    return c, ok, r


def throttle_words(text: str) -> bool:
    t = text.lower()
    return any(w in t for w in ("too many", "尝试次数过多", "稍后", "稍等", "locked", "锁定", "try again later", "rate", "频繁"))


def cookie_header(c: httpx.Client) -> str:
    return "; ".join(f"{k}={v}" for k, v in c.cookies.items())


ALL_SECRETS: list[str] = []


def new_mnemonic() -> str:
    m = MNEMO.to_mnemonic(secrets.token_bytes(16))
    ALL_SECRETS.append(m)
    return m


def new_hexkey() -> str:
    while True:
        h = secrets.token_hex(32)
        if re.search(r"[a-f]", h) and re.search(r"[0-9]", h):
            ALL_SECRETS.append(h)
            return h


def plant(item: int, name: str, *values: str) -> None:
    PLANTS.append((item, name, list(values)))


def s5(r: httpx.Response) -> bool:
    return r.status_code >= 500


def short(r: httpx.Response) -> str:
    body = r.text[:120].replace("\n", " ")
    return f"{r.status_code} {body}"


def find_ticket(client: httpx.Client, marker: str) -> tuple[bool | None, str]:
    """Is there a ticket whose title contains marker in the client's list? None if the list fails."""
    r = client.get("/api/v1/tickets", params={"limit": 100})
    if r.status_code != 200:
        return None, f"list answered {r.status_code}"
    items = r.json().get("items", [])
    hits = [it["case_number"] for it in items if marker in (it.get("title") or "")]
    return bool(hits), ",".join(hits)


def create_ticket(client: httpx.Client, **fields) -> httpx.Response:
    body = {"category": "withdrawal-issue", "title": "probe", "description": "probe"}
    body.update(fields)
    return client.post("/api/v1/tickets", json=body)


def raw_post(client: httpx.Client, path: str, raw: bytes) -> httpx.Response:
    return client.post(path, content=raw, headers={"content-type": "application/json"})


# ----------------------------------------------------------------------------- WebSocket helpers


async def ws_open(path: str, client: httpx.Client | None = None, local_ip: str | None = None):
    headers = {}
    if client is not None:
        headers["Cookie"] = cookie_header(client)
    kw = {}
    if local_ip:
        kw["local_addr"] = (local_ip, 0)
    return await websockets.connect(
        WS_BASE + path, origin=BASE, additional_headers=headers, max_size=None, open_timeout=20,
        close_timeout=3, compression=None, **kw,
    )


async def ws_collect(ws, until=None, timeout: float = 10.0):
    """Collect frames until `until(frame)` is true or timeout. Returns (frames, closed, close_code)."""
    frames = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return frames, False, None
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            return frames, False, None
        except websockets.exceptions.ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            return frames, True, code
        try:
            f = json.loads(raw)
        except Exception:  # noqa: BLE001
            f = {"type": "?", "raw": str(raw)[:100]}
        frames.append(f)
        if until and until(f):
            return frames, False, None


async def ws_send(ws, frame) -> bool:
    try:
        await ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))
        return True
    except websockets.exceptions.ConnectionClosed:
        return False


async def ws_alive(ws, timeout: float = 10.0):
    """Send ping, wait for pong. Returns (alive, frames before pong, close_code)."""
    if not await ws_send(ws, {"type": "ping"}):
        return False, [], getattr(ws, "close_code", None)
    frames, closed, code = await ws_collect(ws, until=lambda f: f.get("type") == "pong", timeout=timeout)
    alive = bool(frames) and frames[-1].get("type") == "pong"
    return alive, frames, code


async def ws_hello(ws, **fields):
    await ws_send(ws, {"type": "hello", **fields})
    frames, closed, code = await ws_collect(ws, until=lambda f: f.get("type") in ("welcome", "error"), timeout=15)
    return frames


async def customer_start_chat(client=None, local_ip=None, text="你好"):
    ws = await ws_open("/ws/chat/", client, local_ip)
    await ws_hello(ws, language="zh-hans")
    await ws_send(ws, {"type": "message", "client_id": uuid.uuid4().hex, "text": text})
    frames, _, _ = await ws_collect(ws, until=lambda f: f.get("type") == "ack", timeout=30)
    conv = None
    for f in frames:
        if f.get("type") == "conversation":
            conv = f["conversation"]
        if f.get("type") == "ack" and not conv:
            conv = {"id": f.get("conversation_id")}
    # let the bot answer
    await ws_collect(ws, until=lambda f: f.get("type") == "message", timeout=20)
    return ws, conv


def arun(coro):
    return asyncio.run(coro)


# ----------------------------------------------------------------------------- mail helpers


def smtp_send(msg: EmailMessage) -> tuple[int, str]:
    """Returns (code, text): 250 on success, else the SMTP error code (or 0 on connection error)."""
    host, port = ARGS.smtp.rsplit(":", 1)
    try:
        with smtplib.SMTP(host, int(port), timeout=60) as s:
            s.ehlo("probe.example")
            rcpt = os.environ.get("PROBE_SUPPORT_EMAIL", "support@lumenwallet.example")
            s.send_message(msg, from_addr="bob@example.com", to_addrs=[rcpt])
        return 250, "ok"
    except smtplib.SMTPResponseException as exc:
        return exc.smtp_code, str(exc.smtp_error)[:100]
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [v[0] for v in exc.recipients.values()]
        return (codes[0] if codes else 0), str(exc)[:100]
    except Exception as exc:  # noqa: BLE001
        return 0, f"{type(exc).__name__}: {exc}"[:100]


def mail(subject: str, body: str, from_header: str | None = None) -> EmailMessage:
    m = EmailMessage()
    m["From"] = from_header or "Bob <bob@example.com>"
    m["To"] = os.environ.get("PROBE_SUPPORT_EMAIL", "support@lumenwallet.example")
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain="probe.example")
    m.set_content(body)
    return m


def wait_ticket(email: str, marker: str, seconds: float = 60.0):
    c = tok_client(email)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found, detail = find_ticket(c, marker)
        if found:
            return detail.split(",")[0]
        time.sleep(1.0)
    return None


# ============================================================================= item 8 (first)


def item8_contention():
    errors = defaultdict(int)
    counts = defaultdict(int)
    lock = threading.Lock()

    def note(kind, r=None, code=None):
        with lock:
            counts[kind] += 1
            if r is not None and (r.status_code >= 500 or "database is locked" in r.text):
                errors[f"{kind}:{r.status_code}"] += 1
            if code is not None and code != 250:
                errors[f"{kind}:{code}"] += 1

    texts = ["我的提现一直没到账", "how do I reset my password", "充值没到", "转人工", "USDT 走错网络了怎么办", "谢谢"]

    def bot_customer(n):
        c = anon(ip(50 + n))
        conv = None
        for t in texts:
            body = {"text": f"{t} ({n})"}
            if conv:
                body["conversation_id"] = conv
            r = c.post("/api/v1/bot/messages", json=body)
            note("bot", r)
            if r.status_code == 200:
                conv = r.json().get("conversation_id") or conv

    def ticket_customer(email, case):
        c = tok_client(email)
        for k in range(3):
            r = c.get("/api/v1/tickets")
            note("list", r)
            if case:
                r = c.post(f"/api/v1/tickets/{case}/messages", json={"body": f"concurrent reply {k}"})
                note("reply", r)

    def ws_customers(k):
        async def one(n):
            errs = []
            try:
                ws = await ws_open("/ws/chat/", None, ip(100 + n))
                await ws_hello(ws, language="zh-hans")
                for t in texts:
                    await ws_send(ws, {"type": "message", "client_id": uuid.uuid4().hex, "text": f"{t} ws{n}"})
                    frames, closed, code = await ws_collect(ws, until=lambda f: f.get("type") in ("ack", "error"), timeout=40)
                    if closed:
                        errs.append(f"closed {code}")
                        break
                    errs += [f"error:{f.get('code')}" for f in frames if f.get("type") == "error" and f.get("code") != "rate_limited"]
                    if not any(f.get("type") in ("ack", "error") for f in frames):
                        errs.append("no ack in 40 s")
                await ws.close()
            except Exception as exc:  # noqa: BLE001
                errs.append(type(exc).__name__)
            return errs

        async def all_():
            return await asyncio.gather(*[one(n) for n in range(k)])
        for errs in arun(all_()):
            with lock:
                counts["ws-customer"] += 1
                for e in errs:
                    errors[f"ws:{e}"] += 1

    def mailer(k):
        if not ARGS.smtp:
            return
        code, _ = smtp_send(mail(f"probe contention {NONCE} {k}", "My withdrawal is stuck, please help."))
        note("smtp", code=code)

    with ThreadPoolExecutor(max_workers=16) as ex:
        futs = [ex.submit(bot_customer, n) for n in range(10)]
        futs += [ex.submit(ticket_customer, "alice@example.com", STATE.get("alice_case")),
                 ex.submit(ticket_customer, "bob@example.com", STATE.get("bob_case"))]
        futs += [ex.submit(mailer, k) for k in range(4)]
        futs += [ex.submit(ws_customers, 8)]
        for f in futs:
            f.result()
    total_err = sum(errors.values())
    return total_err == 0, f"10 HTTP bot customers + 8 socket customers (own IPs) x6 msgs, 2 API customers list+reply x3, 4 SMTP mails: counts={dict(counts)} errors={dict(errors) or 0}"


def item8_smtp_first():
    if not ARGS.smtp:
        return "SKIP", "no --smtp given"
    code, text = smtp_send(mail(f"probe first mail {NONCE}", "hello"))
    return code == 250, f"first mail of the run answered {code} {text} (only meaningful right after server start-up)"


# ============================================================================= item 10 headers


def pages_for_csp(sessions):
    return [
        (None, "/"), (None, "/verify/"), (None, "/verify/?kind=website&value=lumenwallet.example"),
        (None, "/accounts/login/"), (None, "/help/a/fees/"), (None, "/help/search/?q=fees"),
        (None, "/help/announcements/"), (None, "/chat/hours/"), (None, "/admin/login/"),
        (None, "/api/v1/docs"), (None, "/no-such-page/"), (None, "/chat/csat/nosuchtoken/"),
        ("alice", "/portal/"), ("alice", "/portal/new/"), ("alice", "/identity/verify/"),
        ("alice", "/identity/freeze/"), ("agent", "/workspace/"), ("agent", "/chat/workspace/"),
        ("supervisor", "/chat/supervisor/"),
    ]


def item10_csp(sessions):
    for who, path in pages_for_csp(sessions):
        def one(who=who, path=path):
            c = sessions[who] if who else mk()
            r = c.get(path)
            ctype = r.headers.get("content-type", "")
            csp = r.headers.get("content-security-policy", "")
            if "html" not in ctype:
                return "SKIP", f"{r.status_code} {ctype} not HTML"
            ok = bool(csp) and ("default-src" in csp or "script-src" in csp)
            return ok, f"{r.status_code} CSP={csp[:120] or 'none'}"
        check(10, f"csp {who or 'anon'} {path}", one)

    def strict():
        r = mk().get("/")
        csp = r.headers.get("content-security-policy", "")
        if not csp:
            return False, "no CSP on /"
        m = re.search(r"script-src([^;]*)", csp) or re.search(r"default-src([^;]*)", csp)
        src = m.group(1) if m else ""
        ok = "'unsafe-inline'" not in src and "*" not in src.split()
        return ok, f"script sources: {src.strip()[:120]}"
    check(10, "csp-script-src-no-unsafe-inline /", strict)


def item10_head():
    for path in ["/", "/verify/", "/help/a/fees/", "/help/search/?q=fees", "/chat/hours/", "/accounts/login/",
                 "/help/announcements/", "/chat/embed.js", "/api/v1/openapi.json", "/api/v1/categories",
                 "/api/v1/articles/search?q=fees", "/static/kefu/kefu.css"]:
        def one(path=path):
            c = mk()
            g = c.get(path)
            h = c.head(path)
            ok = h.status_code == g.status_code and h.status_code < 400 and len(h.content) == 0
            return ok, f"HEAD {h.status_code} vs GET {g.status_code}, body {len(h.content)} bytes"
        check(10, f"head {path}", one)


def item10_docs():
    if not ARGS.docs_dir:
        return "SKIP", "no --docs-dir given (docs/deploy.md is not served over HTTP)"
    p = os.path.join(ARGS.docs_dir, "deploy.md")
    text = open(p, encoding="utf-8").read()
    low = text.lower()
    have = {
        "secure cookies": bool(re.search(r"secure[_ ]?cookie|cookie[^\n]{0,40}secure|session_cookie_secure", low)),
        "hsts": "hsts" in low or "strict-transport-security" in low,
        "proxy ssl header": bool(re.search(r"ssl[_ ]header|x-forwarded-proto|proxy_ssl", low)),
        "trusted proxy / client ip": bool(re.search(r"trusted[_ ]prox|forwarded[-_]for|forwarded_allow", low)),
    }
    return all(have.values()), f"deploy.md mentions: {have}"


def make_png() -> bytes:
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def make_pdf() -> bytes:
    stream = b"0 0 m 100 100 l S"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += str(i).encode() + b" 0 obj\n" + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 " + str(len(objs) + 1).encode() + b"\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % o for o in offs)
    out += b"trailer\n<< /Size " + str(len(objs) + 1).encode() + b" /Root 1 0 R >>\nstartxref\n"
    out += str(xref).encode() + b"\n%%EOF\n"
    return out


BAD_UPLOADS = [
    ("pdf-magic-then-html", "x.pdf", "application/pdf", b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n" + b"A" * 200),
    ("pdf-magic-then-exe", "x.pdf", "application/pdf", b"%PDF-1.7\nMZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(range(256)) * 2),
    ("pdf-truncated-no-eof", "x.pdf", "application/pdf", make_pdf()[:60]),
    ("png-magic-then-garbage", "x.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 10),
    ("gif-magic-html-polyglot", "x.gif", "image/gif", b"GIF89a<html><script>alert(1)</script></html>" + b"\x00" * 50),
    ("jpeg-magic-then-php", "x.jpg", "image/jpeg", b"\xff\xd8\xff\xe0" + b"<?php system($_GET['c']); ?>" * 5),
    ("webp-riff-then-junk", "x.webp", "image/webp", b"RIFF\x40\x00\x00\x00WEBPVP8 " + b"junkjunk" * 10),
    ("svg-with-script", "x.svg", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
    ("html-named-png", "x.png", "image/png", b"<!doctype html><script>alert(1)</script>"),
]


def portal_reply(c: httpx.Client, case: str, body: str, files=None) -> httpx.Response:
    page = c.get(f"/portal/tickets/{case}/")
    data = {"csrfmiddlewaretoken": form_token(page.text), "body": body}
    return c.post(f"/portal/tickets/{case}/", data=data, files=files or [])


def portal_create(c: httpx.Client, title: str, description: str, files=None, **extra) -> httpx.Response:
    page = c.get("/portal/new/")
    opts = re.findall(r'<option value="(\d+)"', page.text)
    data = {"csrfmiddlewaretoken": form_token(page.text), "category": opts[0] if opts else "",
            "title": title, "description": description}
    data.update(extra)
    return c.post("/portal/new/", data=data, files=files or [])


def attachment_names(email: str, case: str) -> list[str]:
    r = tok_client(email).get(f"/api/v1/tickets/{case}")
    names = []
    if r.status_code == 200:
        for m in r.json().get("messages", []):
            names += [a["name"] for a in m.get("attachments", [])]
    return names


def item10_uploads(alice_web, state):
    case = state.get("upload_case")
    if not case:
        record(10, "upload-checks", "SKIP", "no ticket to upload to")
        return
    for name, fname, ctype, data in BAD_UPLOADS:
        def one(name=name, fname=fname, ctype=ctype, data=data):
            marked = f"{NONCE[:6]}-{name}-{fname}"
            r = portal_reply(alice_web, case, f"upload {name}", files=[("attachments", (marked, data, ctype))])
            if s5(r):
                return False, f"server error {r.status_code}"
            stored = marked in attachment_names("alice@example.com", case)
            return not stored, f"reply answered {r.status_code}; file {'STORED' if stored else 'refused'}"
        check(10, f"upload-refused {name}", one)

    def control():
        marked = f"{NONCE[:6]}-valid.pdf"
        r = portal_reply(alice_web, case, "upload valid pdf", files=[("attachments", (marked, make_pdf(), "application/pdf"))])
        stored = marked in attachment_names("alice@example.com", case)
        return stored, f"control: a well-formed PDF is {'accepted' if stored else 'REFUSED'} ({r.status_code})"
    check(10, "upload-accepted valid-pdf-control", control)


# ============================================================================= item 3 plants


def item3_plants(sessions):
    """Plant secrets in query strings (and other places); the log is scanned at the end."""
    c = mk()
    tc = tok_client("alice@example.com")
    urls = [
        ("search-page-q", lambda p: c.get("/help/search/", params={"q": p})),
        ("api-articles-search-q", lambda p: c.get("/api/v1/articles/search", params={"q": p})),
        ("api-channels-check-value", lambda p: c.get("/api/v1/channels/check", params={"kind": "website", "value": p})),
        ("verify-page-value", lambda p: c.get("/verify/", params={"kind": "website", "value": p})),
        ("home-q", lambda p: c.get("/", params={"q": p})),
        ("portal-anon-redirect-next", lambda p: c.get("/portal/", params={"q": p})),
        ("api-tickets-status", lambda p: tc.get("/api/v1/tickets", params={"status": p})),
        ("api-announcements-coin", lambda p: c.get("/api/v1/announcements/active", params={"coin": p})),
        ("chat-hours-ref", lambda p: c.get("/chat/hours/", params={"ref": p})),
        ("404-path-query", lambda p: c.get("/no-such-page/", params={"token": p})),
        ("api-404-query", lambda p: c.get("/api/v1/no-such-endpoint", params={"q": p})),
        ("static-query", lambda p: c.get("/static/kefu/kefu.css", params={"v": p})),
        ("plus-encoded-search", lambda p: c.get("/help/search/?q=" + p.replace(" ", "+"))),
        ("path-segment-article", lambda p: c.get("/help/a/" + quote(p) + "/")),
        ("api-article-slug-path", lambda p: c.get("/api/v1/articles/" + quote(p))),
        ("user-agent-header", lambda p: mk(headers={"User-Agent": "probe " + p}).get("/")),
        ("referer-header", lambda p: mk(headers={"Referer": BASE + "/help/search/?q=" + quote(p)}).get("/")),
    ]
    for name, fn in urls:
        phrase = new_mnemonic()
        key = new_hexkey()
        try:
            fn(phrase)
            fn("private key " + key)
            fn(key)
        except Exception as exc:  # noqa: BLE001
            record(3, f"plant {name}", False, f"exception while planting: {exc}")
            continue
        plant(3, f"log-clean {name}", phrase, key)

    # websocket query string
    phrase = new_mnemonic()

    async def ws_plant():
        try:
            ws = await websockets.connect(WS_BASE + "/ws/chat/?k=" + quote(phrase), origin=BASE, open_timeout=10)
            await ws.close()
        except Exception:  # noqa: BLE001
            pass
    arun(ws_plant())
    plant(3, "log-clean websocket-query", phrase)

    # JSON bodies of requests the API refuses (validation errors may be logged)
    phrase = new_mnemonic()
    key = new_hexkey()
    tc.post("/api/v1/tickets", json={"category": "no-such-category", "title": phrase, "description": "private key " + key})
    tc.post("/api/v1/tickets", json={"category": ["x"], "title": phrase})
    plant(3, "log-clean rejected-api-body", phrase, key)


# ============================================================================= item 4 guard


def ticket_detail(email, case):
    r = tok_client(email).get(f"/api/v1/tickets/{case}")
    return r.json() if r.status_code == 200 else None


def item4_guard(alice_web):
    tc = tok_client("alice@example.com")

    def field_check(field, value, secret, label):
        fields = {"title": f"probe guard {label} {NONCE}"}
        fields[field] = value
        r = create_ticket(tc, **fields)
        if r.status_code == 429:
            return "SKIP", "rate-limited (429): inconclusive"
        if r.status_code != 201:
            return r.status_code < 500, f"create answered {short(r)} (refused, not stored)"
        d = ticket_detail("alice@example.com", r.json()["case_number"]) or r.json()
        stored = json.dumps(d, ensure_ascii=False)
        leaked = secret.lower() in stored.lower()
        return not leaked, f"{field} stored as {str(d.get(field))[:70]!r}"

    k1, k2, k3 = new_hexkey(), new_hexkey(), new_hexkey()
    check(4, "tx_hash-field bare-64hex-key hidden", field_check, "tx_hash", k1, k1, "txhash")
    check(4, "order_number-field bare-64hex-key hidden", field_check, "order_number", k2, k2, "order")
    check(4, "tx_hash-field 'private key:'+hex hidden", field_check, "tx_hash", "private key: " + k3, k3, "txhash-ctx")
    ph = new_mnemonic()
    check(4, "title-field mnemonic hidden", field_check, "title", ph, ph, "title")
    ph2 = new_mnemonic()
    check(4, "description-field mnemonic hidden", field_check, "description", "my words: " + ph2, ph2, "desc")

    def portal_tx():
        k = new_hexkey()
        marker = f"probe guard portal {NONCE}"
        r = portal_create(alice_web, marker, "portal tx hash field", tx_hash=k)
        if r.status_code not in (301, 302, 303):
            return r.status_code < 500, f"portal answered {r.status_code} (not stored)"
        case = re.search(r"KF-\d{8}-\d+", r.headers.get("location", ""))
        d = ticket_detail("alice@example.com", case.group(0)) if case else None
        if d is None:
            return "SKIP", "could not read the ticket back"
        return k not in json.dumps(d).lower(), f"portal tx_hash stored as {str(d.get('tx_hash'))[:70]!r}"
    check(4, "portal-form tx_hash bare-64hex-key hidden", portal_tx)

    # exact redaction: neighbours survive
    def exact(text_fn, label, where):
        ph = new_mnemonic()
        text = text_fn(ph)
        if where == "ticket":
            r = create_ticket(tc, title=f"probe exact {label} {NONCE}", description=text)
            if r.status_code == 429:
                return "SKIP", "rate-limited"
            if r.status_code != 201:
                return False, f"create answered {short(r)}"
            d = ticket_detail("alice@example.com", r.json()["case_number"]) or {}
            stored = d.get("description", "")
        else:
            case = STATE.get("alice_case")
            r = tc.post(f"/api/v1/tickets/{case}/messages", json={"body": text})
            if r.status_code == 429:
                return "SKIP", "rate-limited"
            if r.status_code != 201:
                return False, f"reply answered {short(r)}"
            stored = r.json().get("body", "")
        leaked = " ".join(ph.split()[:4]) in stored
        keep = ["urgent", "here", "thanks", "everyone"] if label.startswith("en") else ["你好", "谢谢客服"]
        lost = [w for w in keep if w not in stored]
        return (not leaked and not lost), f"stored={stored[:150]!r} lost={lost} leaked={leaked}"

    en = lambda p: f"urgent: my backup words here {p} thanks everyone"  # noqa: E731
    en2 = lambda p: f"urgent, here:{p.replace(' ', ',')},thanks everyone"  # noqa: E731
    zh = lambda p: f"你好，我的备份是 {p} 谢谢客服"  # noqa: E731
    check(4, "redaction-exact en ticket-description", exact, en, "en", "ticket")
    check(4, "redaction-exact en-comma-separated reply", exact, en2, "en2", "reply")
    check(4, "redaction-exact zh-neighbours reply", exact, zh, "zh", "reply")

    # chat: redaction exactness over the socket
    def chat_exact():
        ph = new_mnemonic()
        text = f"urgent: my backup words here {ph} thanks everyone"

        async def go():
            ws, conv = await customer_start_chat(None, ip(60), "hello")
            await ws_send(ws, {"type": "message", "client_id": uuid.uuid4().hex, "text": text})
            frames, _, _ = await ws_collect(ws, until=lambda f: f.get("type") in ("ack", "error"), timeout=20)
            await ws.close()
            return frames
        frames = arun(go())
        ack = next((f for f in frames if f.get("type") == "ack"), None)
        if not ack:
            return False, f"no ack: {frames[-1:] }"
        stored = ack.get("text", text)
        leaked = " ".join(ph.split()[:4]) in stored
        lost = [w for w in ["urgent", "here", "thanks", "everyone"] if w not in stored]
        return (not leaked and not lost), f"ack text={stored[:150]!r} lost={lost} leaked={leaked}"
    check(4, "redaction-exact chat-message", chat_exact)

    # login username -> audit log / server log
    ph = new_mnemonic()
    login(ph, "wrong-password", local_ip=ip(70))
    plant(4, "log-clean login-username-mnemonic", ph)
    k = new_hexkey()
    login(f"private key {k}", "wrong-password", local_ip=ip(70))
    plant(4, "log-clean login-username-hexkey", k)

    # mail: phrase in the From display name
    if not ARGS.smtp:
        record(4, "mail-display-name-mnemonic", "SKIP", "no --smtp given")
        return

    def mail_case(label, from_header, secret, subject_extra=""):
        marker = f"probemail{label}{NONCE[:8]}"
        code, text = smtp_send(mail(f"{marker} withdrawal question {subject_extra}", "My withdrawal is stuck.", from_header))
        if code != 250:
            return False, f"SMTP answered {code} {text}"
        case = wait_ticket("bob@example.com", marker, 60)
        if not case:
            return False, "250 but no ticket for bob@example.com within 60 s (mail dropped?)"
        d = ticket_detail("bob@example.com", case) or {}
        words = secret.split()
        needle = " ".join(words[:2]) if len(words) >= 2 else secret
        leaked = bool(needle) and needle.lower() in json.dumps(d, ensure_ascii=False).lower()
        return not leaked, f"ticket {case} created; secret {'LEAKED' if leaked else 'not shown'}"

    check(4, "mail-control plain-mail-becomes-ticket", mail_case, "ctl", "Bob <bob@example.com>", "")
    ph = new_mnemonic()
    check(4, "mail-display-name-mnemonic kept-and-redacted", mail_case, "dn", formataddr((ph, "bob@example.com")), ph)
    ph = new_mnemonic()
    import base64
    enc = "=?utf-8?b?" + base64.b64encode((ph + " 备份").encode()).decode() + "?= <bob@example.com>"
    check(4, "mail-display-name-rfc2047-mnemonic kept-and-redacted", mail_case, "dn2047", enc, ph)
    ph = new_mnemonic()
    check(4, "mail-subject-mnemonic kept-and-redacted", mail_case, "subj", "Bob <bob@example.com>", ph, ph)
    k = new_hexkey()
    check(4, "mail-display-name-privkey kept-and-redacted", mail_case, "dnkey",
          formataddr(("private key " + k, "bob@example.com")), k)
    plant(4, "log-clean mail-display-name-secrets", k)


# ============================================================================= item 5 NUL


def item5_nul(alice_web, sessions):
    tc = tok_client("alice@example.com")
    N = "a\u0000b"

    def ticket_all_fields():
        r = create_ticket(tc, title=f"probe nul {NONCE} {N}", description=f"desc {N}", coin="U\u0000SDT",
                          network="TR\u0000C20", order_number="O\u00001", tx_hash="0x\u0000ab")
        if r.status_code == 429:
            return "SKIP", "rate-limited (429)"
        if s5(r):
            return False, f"server error {r.status_code}"
        if r.status_code == 201:
            has = "\\u0000" in r.text
            return not has, f"201; NUL {'STORED in response' if has else 'stripped'}"
        return True, f"refused {short(r)}"
    check(5, "nul ticket-all-text-fields", ticket_all_fields)

    def reply():
        r = tc.post(f"/api/v1/tickets/{STATE['alice_case']}/messages", json={"body": f"reply {N}"})
        if r.status_code == 429:
            return "SKIP", "rate-limited (429)"
        if s5(r):
            return False, f"server error {r.status_code}"
        if r.status_code == 201:
            return "\\u0000" not in r.text, f"201; NUL {'STORED' if chr(92) + 'u0000' in r.text else 'stripped'}"
        return True, f"refused {short(r)}"
    check(5, "nul ticket-reply", reply)

    def bot(body):
        r = anon(ip(71)).post("/api/v1/bot/messages", json=body)
        return not s5(r), short(r)
    check(5, "nul bot-text", bot, {"text": f"hello {N}"})
    check(5, "nul bot-conversation-id", bot, {"text": "hello", "conversation_id": f"{uuid.uuid4()}\u0000"})

    c = mk()
    paths = [
        (None, "/chat/csat/a%00b/"), (None, "/api/v1/articles/a%00b"), (None, "/help/a/a%00b/"),
        (None, "/help/search/?q=a%00b"), (None, "/api/v1/articles/search?q=a%00b"),
        (None, "/verify/?kind=website&value=a%00b"), (None, "/api/v1/channels/check?kind=website&value=a%00b"),
        (None, "/api/v1/channels/check?kind=a%00b&value=x"), (None, "/api/v1/announcements/active?coin=a%00b"),
        (None, "/api/v1/articles/fees?lang=a%00b"), (None, "/files/a%00b/"), (None, "/%00"),
        ("alice", "/portal/tickets/a%00b/"), ("alice", "/portal/?status=a%00b"), ("token", "/api/v1/tickets/a%00b"),
        ("token", "/api/v1/tickets?status=a%00b"), ("token", "/api/v1/tickets?cursor=a%00b"),
        ("agent", "/wallet/diagnose/a%00b/"), ("agent", "/identity/account/a%00b/"), ("agent", "/workspace/?q=a%00b"),
    ]
    for who, path in paths:
        def one(who=who, path=path):
            cl = tc if who == "token" else (sessions[who] if who else c)
            r = cl.get(path)
            return not s5(r), f"{r.status_code}"
        check(5, f"nul url {who or 'anon'} {path}", one)

    def login_nul():
        _, ok, r = login("alice\u0000@example.com", "x\u0000y", local_ip=ip(72))
        return not s5(r), f"{r.status_code}"
    check(5, "nul login-form-username-password", login_nul)

    def identity_token():
        r = raw_post(anon(ip(71)), "/identity/token", json.dumps({"token": "a\u0000b"}).encode())
        return not s5(r), short(r)
    check(5, "nul identity-token-body", identity_token)

    def portal_form():
        r = portal_create(alice_web, f"probe nul portal {NONCE} {N}", f"desc {N}")
        if s5(r):
            return False, f"server error {r.status_code}"
        return True, f"{r.status_code}"
    check(5, "nul portal-form-title-description", portal_form)

    def chat():
        async def go():
            ws, conv = await customer_start_chat(None, ip(73), "hello")
            cid = uuid.uuid4().hex
            await ws_send(ws, {"type": "message", "client_id": cid, "text": "text with NUL \u0000 inside"})
            f1, closed, code = await ws_collect(ws, until=lambda f: f.get("type") in ("ack", "error"), timeout=20)
            alive, _, code2 = await ws_alive(ws)
            # the widget's resend: same client_id, same text
            resend_ok = None
            if alive:
                await ws_send(ws, {"type": "message", "client_id": cid, "text": "text with NUL \u0000 inside"})
                f2, _, _ = await ws_collect(ws, until=lambda f: f.get("type") in ("ack", "error"), timeout=20)
                resend_ok, _, _ = await ws_alive(ws)
            await ws_send(ws, {"type": "sync", "after": 0})
            hist, _, _ = await ws_collect(ws, until=lambda f: f.get("type") == "history", timeout=10)
            stored_nul = any("\u0000" in (m.get("text") or "") for f in hist if f.get("type") == "history"
                             for m in f.get("messages", []))
            try:
                await ws.close()
            except Exception:  # noqa: BLE001
                pass
            return f1, alive, resend_ok, code or code2, stored_nul
        f1, alive, resend_ok, code, stored_nul = arun(go())
        ans = [f.get("type") + ":" + str(f.get("code", "")) for f in f1 if f.get("type") in ("ack", "error")]
        return (alive and resend_ok is not False), f"answer={ans} socket_alive={alive} resend_alive={resend_ok} close={code} nul_stored={stored_nul}"
    check(5, "nul chat-message socket-survives", chat)

    def chat_stored():
        async def go():
            ws, conv = await customer_start_chat(None, ip(74), "hello")
            await ws_send(ws, {"type": "message", "client_id": uuid.uuid4().hex, "text": "x\u0000y"})
            await ws_collect(ws, until=lambda f: f.get("type") in ("ack", "error"), timeout=20)
            await ws_send(ws, {"type": "sync", "after": 0})
            hist, closed, _ = await ws_collect(ws, until=lambda f: f.get("type") == "history", timeout=10)
            try:
                await ws.close()
            except Exception:  # noqa: BLE001
                pass
            return hist, closed
        hist, closed = arun(go())
        if closed:
            return False, "socket closed"
        msgs = [m for f in hist if f.get("type") == "history" for m in f.get("messages", [])]
        nul = any("\u0000" in (m.get("text") or "") for m in msgs)
        return not nul, f"history has {len(msgs)} messages; NUL {'STORED' if nul else 'not stored'} (same on SQLite and PostgreSQL requires handling at the boundary)"
    check(5, "nul chat-message not-stored-raw", chat_stored)


# ============================================================================= item 6 unhandled errors


def deep(n=100_000, obj=False) -> bytes:
    if obj:
        return b'{"a":' * n + b"1" + b"}" * n
    return b"[" * n + b"]" * n


def item6_errors(sessions):
    bc = anon(ip(75))
    tc = tok_client("alice@example.com")

    def exp4(r, label=""):
        return 400 <= r.status_code < 500, f"{label}{short(r)}"

    check(6, "bot conversation_id not-a-uuid", lambda: exp4(bc.post("/api/v1/bot/messages", json={"text": "hi", "conversation_id": "not-a-uuid"})))
    check(6, "bot conversation_id integer", lambda: (not s5(r := bc.post("/api/v1/bot/messages", json={"text": "hi", "conversation_id": 12345})), short(r)))
    check(6, "bot conversation_id path-traversal", lambda: exp4(bc.post("/api/v1/bot/messages", json={"text": "hi", "conversation_id": "../../etc/passwd"})))
    check(6, "bot conversation_id 10k-chars", lambda: exp4(bc.post("/api/v1/bot/messages", json={"text": "hi", "conversation_id": "a" * 10000})))
    check(6, "bot text 1MB", lambda: (not s5(r := bc.post("/api/v1/bot/messages", json={"text": "提现" * 500_000})), short(r)))

    sur = b'"\\ud800"'
    targets = [
        ("bot", bc, "/api/v1/bot/messages", b'{"text": ' + sur + b"}"),
        ("bot-conversation-id", bc, "/api/v1/bot/messages", b'{"text": "hi", "conversation_id": ' + sur + b"}"),
        ("ticket-title", tc, "/api/v1/tickets", b'{"category":"withdrawal-issue","title":' + sur + b',"description":"x"}'),
        ("ticket-category", tc, "/api/v1/tickets", b'{"category":' + sur + b',"title":"x","description":"x"}'),
        ("ticket-reply", tc, f"/api/v1/tickets/{STATE['alice_case']}/messages", b'{"body":' + sur + b"}"),
        ("identity-token", bc, "/identity/token", b'{"token":' + sur + b"}"),
        ("identity-challenge", tc, "/api/v1/identity/challenges", b'{"channel":' + sur + b"}"),
        ("key-surrogate", tc, "/api/v1/tickets", b'{"\\udfff":1,"category":"withdrawal-issue","title":"x","description":"x"}'),
        ("invalid-utf8-bytes", tc, "/api/v1/tickets", b'{"category":"withdrawal-issue","title":"\xff\xfe","description":"x"}'),
    ]
    for label, cl, path, raw in targets:
        check(6, f"lone-surrogate-json {label}", lambda cl=cl, path=path, raw=raw: exp4(raw_post(cl, path, raw)))

    for path in ["/api/v1/articles/search?q=%ED%A0%80", "/help/search/?q=%ED%A0%80", "/verify/?kind=website&value=%FF%FE",
                 "/api/v1/channels/check?kind=website&value=%ED%A0%80", "/help/a/%ED%A0%80/", "/api/v1/articles/%FF"]:
        check(6, f"invalid-utf8-url {path}", lambda path=path: (not s5(r := mk().get(path)), str(r.status_code)))

    deeps = [
        ("identity-token", bc, "/identity/token", deep()),
        ("identity-token-objects", bc, "/identity/token", deep(obj=True)),
        ("bot-messages", bc, "/api/v1/bot/messages", deep()),
        ("tickets", tc, "/api/v1/tickets", deep()),
        ("ticket-reply", tc, f"/api/v1/tickets/{STATE['alice_case']}/messages", deep()),
        ("identity-challenges", tc, "/api/v1/identity/challenges", deep()),
        ("identity-freeze", tc, "/api/v1/identity/freeze", deep(obj=True)),
        ("identity-verify", tc, f"/api/v1/identity/challenges/{uuid.uuid4()}/verify", deep()),
    ]
    for label, cl, path, raw in deeps:
        check(6, f"deep-json-100000 {label}", lambda cl=cl, path=path, raw=raw: exp4(raw_post(cl, path, raw)))

    # query parameters that are numbers
    for path, who in [("/api/v1/tickets?limit=99999999999999999999999", "t"), ("/api/v1/tickets?limit=-1", "t"),
                      ("/api/v1/tickets?limit=1e400", "t"), ("/api/v1/tickets?limit=0", "t"),
                      ("/api/v1/tickets?cursor=%%%garbage", "t"), ("/api/v1/tickets?cursor=" + "A" * 5000, "t"),
                      ("/api/v1/tickets?status=no-such", "t"), ("/api/v1/tickets?queue=no-such", "t"),
                      ("/api/v1/articles/search?q=fees&limit=99999999999999999999999", None),
                      ("/api/v1/articles/search?q=fees&limit=-5", None), ("/api/v1/articles/search?q=fees&limit=NaN", None),
                      ("/help/search/?q=fees&page=99999999999999999999", None), ("/help/search/?q=fees&page=-1", None)]:
        check(6, f"numeric-query {path[:70]}", lambda path=path, who=who: (not s5(r := (tc if who else mk()).get(path)), str(r.status_code)))

    # agent priority
    ac = tok_client("agent@example.com")
    sc = tok_client("supervisor@example.com")
    for label, raw in [("-1", b"-1"), ("2^63", str(2 ** 63).encode()), ("99999", b"99999"), ("2^31", str(2 ** 31).encode()),
                       ("1e400", b"1e400"), ("string", b'"urgent"'), ("1.5", b"1.5")]:
        def one(label=label, raw=raw):
            marker = f"probe prio {label} {NONCE}"
            body = b'{"category":"withdrawal-issue","title":' + json.dumps(marker).encode() + b',"description":"x","priority":' + raw + b"}"
            r = raw_post(ac, "/api/v1/tickets", body)
            found, det = find_ticket(sc, marker)
            if r.status_code == 201:
                pr = r.json().get("priority")
                return False, f"accepted (201) with priority {pr}"
            ok = 400 <= r.status_code < 500 and found is False
            return ok, f"{short(r)}; committed={found} {det}"
        check(6, f"agent-priority {label}", one)

    item6_socket(sessions)


def item6_socket(sessions):
    def hello_case(label, raw):
        async def go():
            ws = await ws_open("/ws/chat/", None, ip(76))
            await ws_send(ws, raw)
            frames, closed, code = await ws_collect(ws, until=lambda f: f.get("type") in ("welcome", "error"), timeout=15)
            alive, more, code2 = await ws_alive(ws)
            try:
                await ws.close()
            except Exception:  # noqa: BLE001
                pass
            return frames, alive, code or code2
        frames, alive, code = arun(go())
        kinds = [f.get("type") + (":" + f.get("code") if f.get("code") else "") for f in frames]
        return alive, f"answer={kinds[:3]} alive={alive} close={code}"

    hellos = [
        ("hello resume_key non-ascii", json.dumps({"type": "hello", "resume_key": "ключ✓密钥"})),
        ("hello last_seq 1e400", '{"type":"hello","last_seq":1e400}'),
        ("hello last_seq -1e400", '{"type":"hello","last_seq":-1e400}'),
        ("hello last_seq 10^30", '{"type":"hello","last_seq":1000000000000000000000000000000}'),
        ("hello last_seq string", '{"type":"hello","last_seq":"abc"}'),
        ("hello last_seq NaN", '{"type":"hello","last_seq":NaN}'),
        ("hello conversation_id not-uuid", json.dumps({"type": "hello", "conversation_id": "not-a-uuid"})),
        ("hello conversation_id object", json.dumps({"type": "hello", "conversation_id": {"a": 1}})),
        ("hello resume_key 100k", json.dumps({"type": "hello", "resume_key": "k" * 100_000})),
        ("hello resume_key surrogate", '{"type":"hello","resume_key":"\\ud800"}'),
        ("hello language weird", json.dumps({"type": "hello", "language": "\u0000" + "x" * 1000})),
        ("deep-json-100000 before hello", "[" * 100_000 + "]" * 100_000),
        ("frame is a JSON array", "[1,2,3]"),
        ("frame is a JSON number", "1e400"),
    ]
    for label, raw in hellos:
        check(6, f"socket {label}", hello_case, label, raw)

    def after_hello(label, raw_fn):
        async def go():
            ws, conv = await customer_start_chat(None, ip(77), "hello")
            raw = raw_fn(conv)
            await ws_send(ws, raw)
            frames, closed, code = await ws_collect(ws, until=lambda f: f.get("type") in ("error", "ack", "history", "rated", "chosen"), timeout=8)
            alive, more, code2 = await ws_alive(ws)
            try:
                await ws.close()
            except Exception:  # noqa: BLE001
                pass
            return frames + more, alive, code or code2
        frames, alive, code = arun(go())
        kinds = [f.get("type") + (":" + f.get("code") if f.get("code") else "") for f in frames if f.get("type") != "message"]
        return alive, f"answer={kinds[:3]} alive={alive} close={code}"

    mid = [
        ("deep-json-100000 after hello", lambda c: "[" * 100_000 + "]" * 100_000),
        ("deep-json-objects after hello", lambda c: '{"a":' * 100_000 + "1" + "}" * 100_000),
        ("sync after 1e400", lambda c: '{"type":"sync","after":1e400}'),
        ("read seq 1e400", lambda c: '{"type":"read","seq":1e400}'),
        ("read seq 2^63", lambda c: '{"type":"read","seq":9223372036854775808}'),
        ("message text surrogate", lambda c: '{"type":"message","client_id":"s1","text":"\\ud800"}'),
        ("message text object", lambda c: json.dumps({"type": "message", "client_id": "o1", "text": {"x": 1}})),
        ("message client_id 10k", lambda c: json.dumps({"type": "message", "client_id": "c" * 10_000, "text": "hi"})),
        ("message client_id integer", lambda c: json.dumps({"type": "message", "client_id": 5, "text": "hi"})),
        ("rate rating 1e400 bad token", lambda c: '{"type":"rate","token":"\\u00e9\\u00e9","rating":1e400}'),
        ("choose callback phone junk", lambda c: json.dumps({"type": "choose", "choice": "callback", "phone": "\u0000" * 50})),
        ("typing active object", lambda c: json.dumps({"type": "typing", "active": {"a": [1]}})),
        ("binary frame", lambda c: b"\x00\xff\x00binary"),
    ]
    for label, fn in mid:
        check(6, f"socket {label}", after_hello, label, fn)

    def agent_deep():
        async def go():
            ws = await ws_open("/ws/chat/agent/", sessions["agent"])
            await ws_hello(ws)
            await ws_send(ws, "[" * 100_000 + "]" * 100_000)
            frames, closed, code = await ws_collect(ws, until=lambda f: f.get("type") == "error", timeout=8)
            alive, _, code2 = await ws_alive(ws)
            await ws_send(ws, '{"type":"open","conversation_id":"not-a-uuid","last_seq":1e400}')
            frames2, _, _ = await ws_collect(ws, until=lambda f: f.get("type") in ("error", "chat"), timeout=8)
            alive2, _, code3 = await ws_alive(ws)
            try:
                await ws.close()
            except Exception:  # noqa: BLE001
                pass
            return alive, alive2, code or code2 or code3, frames + frames2
        alive, alive2, code, frames = arun(go())
        kinds = [f.get("type") + ":" + str(f.get("code", "")) for f in frames if f.get("type") == "error"]
        return alive and alive2, f"deep-json alive={alive}, open(not-uuid,1e400) alive={alive2}, errors={kinds} close={code}"
    check(6, "agent-socket deep-json-and-bad-open", agent_deep)


def item6_status_codes(openapi):
    seen = defaultdict(set)
    for m, t, s in STATUS_LOG:
        seen[(m, t)].add(s)
    for (m, t), statuses in sorted(seen.items()):
        op = openapi["paths"].get(t, {}).get(m.lower(), {})
        documented = {int(k) for k in op.get("responses", {}) if k.isdigit()}
        extra = sorted(s for s in statuses if s not in documented)
        record(6, f"openapi-documents-status {m} {t}", not extra,
               f"seen {sorted(statuses)}; documented {sorted(documented)}; undocumented {extra}")


# ============================================================================= item 7 access


def item7_access(sessions, alice_web):
    ac = tok_client("agent@example.com")
    sc = tok_client("supervisor@example.com")

    def other_team():
        marker = f"probe otherteam {NONCE}"
        r1 = create_ticket(ac, category="app-not-opening", title=marker, description="agent files in tech category")
        r2 = create_ticket(ac, category="app-not-opening", title=marker, description="retry")
        found, det = find_ticket(sc, marker)
        n = len(det.split(",")) if found else 0
        ok = r1.status_code < 500 and (r1.status_code == 201 and n == 1 or (r1.status_code >= 400 and n == 0)) and r2.status_code < 500
        return ok, f"answers {r1.status_code},{r2.status_code}; tickets actually created: {n if found is not None else det}"
    check(7, "agent-creates-in-other-teams-category consistent", other_team)

    def other_team_ticket():
        r = create_ticket(tok_client("alice@example.com"), category="app-not-opening", title=f"probe tech {NONCE}", description="app crashes")
        if r.status_code != 201:
            return "SKIP", f"alice could not create: {r.status_code}"
        case = r.json()["case_number"]
        STATE["tech_case"] = case
        g = ac.get(f"/api/v1/tickets/{case}")
        p = ac.post(f"/api/v1/tickets/{case}/messages", json={"body": f"agent note {NONCE}", "internal": True})
        d = ticket_detail("alice@example.com", case) or {}
        stored = f"agent note {NONCE}" in json.dumps(d, ensure_ascii=False)
        sd = sc.get(f"/api/v1/tickets/{case}")
        stored = stored or (sd.status_code == 200 and f"agent note {NONCE}" in sd.text)
        ok = g.status_code in (403, 404) and p.status_code in (403, 404) and not stored
        return ok, f"GET {g.status_code}, POST note {p.status_code}, note stored={stored}"
    check(7, "agent-reads-or-notes-other-teams-ticket refused", other_team_ticket)

    # bot-stage chat
    async def botchat(who_session, label):

        wsc, conv = await customer_start_chat(None, ip(80), "你好")
        cid = conv["id"] if conv else None
        wa = await ws_open("/ws/chat/agent/", who_session)
        await ws_hello(wa)
        out = {}
        for t, frame in [("open", {"type": "open", "conversation_id": cid}),
                         ("context", {"type": "context", "conversation_id": cid}),
                         ("note", {"type": "message", "conversation_id": cid, "client_id": uuid.uuid4().hex, "text": "note", "internal": True}),
                         ("read", {"type": "read", "conversation_id": cid, "seq": 1})]:
            await ws_send(wa, frame)
            await ws_send(wa, {"type": "ping"})
            frames, _, _ = await ws_collect(wa, until=lambda f: f.get("type") == "pong", timeout=10)
            kinds = [f.get("type") for f in frames if f.get("type") not in ("pong", "queue", "presence", "dashboard")]
            out[t] = kinds
        # did the customer see a read receipt?
        await ws_send(wsc, {"type": "ping"})
        cf, _, _ = await ws_collect(wsc, until=lambda f: f.get("type") == "pong", timeout=10)
        out["customer_saw_read"] = any(f.get("type") == "read" for f in cf)
        for w in (wa, wsc):
            try:
                await w.close()
            except Exception:  # noqa: BLE001
                pass
        return out

    for who in ("agent", "specialist"):
        def one(who=who):
            out = arun(botchat(sessions[who], who))
            bad = []
            if "chat" in out["open"]:
                bad.append("open")
            if "context" in out["context"]:
                bad.append("context")
            if "ack" in out["note"]:
                bad.append("note")
            if "read" in out["read"] or out["customer_saw_read"]:
                bad.append("read")
            return not bad, f"allowed: {bad or 'none'}; answers {out}"
        check(7, f"bot-stage-chat {who} open/context/note/read refused", one)

    def other_customer_resume():
        async def go():
            wsa, conv = await customer_start_chat(sessions["alice"], None, "我的提现没到账 probe")
            cid = conv["id"]
            rk = conv.get("resume_key")
            wsb = await ws_open("/ws/chat/", sessions["bob"])
            fr = await ws_hello(wsb, conversation_id=cid, resume_key=rk)
            wsn = await ws_open("/ws/chat/", None, ip(81))
            fr2 = await ws_hello(wsn, conversation_id=cid)
            for w in (wsa, wsb, wsn):
                try:
                    await w.close()
                except Exception:  # noqa: BLE001
                    pass
            return cid, fr, fr2
        cid, fr, fr2 = arun(go())

        def got(frames):
            w = next((f for f in frames if f.get("type") == "welcome"), {})
            c = w.get("conversation") or {}
            return c.get("id") == cid or any("probe" in (m.get("text") or "") for m in w.get("history", []))
        b, n = got(fr), got(fr2)
        return not b and not n, f"bob resumed alice's chat={b}; anonymous with only its id={n}"
    check(7, "customer-cannot-resume-another-customers-chat", other_customer_resume)

    # attachments via bearer token
    def attach(email, expect_ok):

        url = STATE.get("upload_url")
        if not url:
            return "SKIP", "no attachment"
        cl = tok_client(email) if email else mk()
        r = cl.get(url)
        good = r.status_code == 200 and r.content == STATE["upload_bytes"]
        if expect_ok:
            return good, f"{r.status_code} {r.headers.get('location', '')} bytes_match={good}"
        return (r.status_code != 200 and r.status_code < 500), f"{r.status_code} {r.headers.get('location', '')}"
    check(7, "attachment-url bearer-owner downloads", attach, "alice@example.com", True)
    check(7, "attachment-url bearer-other-customer refused", attach, "bob@example.com", False)
    check(7, "attachment-url anonymous refused", attach, None, False)
    check(7, "attachment-url bearer-agent-of-team downloads", attach, "agent@example.com", True)

    def attach_other_team_agent():
        # specialist is not in the assets team (withdrawal-issue): should not get the file
        url = STATE.get("upload_url")
        if not url:
            return "SKIP", "no attachment"
        r = tok_client("specialist@example.com").get(url)
        # the upload ticket's category is the portal's first option; informational: no server error
        return r.status_code < 500, f"specialist got {r.status_code}"
    check(7, "attachment-url bearer-specialist no-5xx", attach_other_team_agent)


# ============================================================================= item 1 numbers


def amount_one(bc, label, value, must_refuse):
    marker = f"probe amount {label} {NONCE}"
    r = create_ticket(bc, title=marker, amount=value)
    if r.status_code == 429:
        return "SKIP", "rate-limited (429): inconclusive"
    found, det = find_ticket(bc, marker)
    if s5(r):
        return False, f"server error {r.status_code}; committed={found if found is not None else 'unknown: ' + det}"
    if r.status_code == 201:
        case = r.json()["case_number"]
        g = bc.get(f"/api/v1/tickets/{case}")
        if must_refuse:
            return False, f"accepted (201) amount={r.json().get('amount')!r}; read back {g.status_code}"
        return g.status_code == 200, f"accepted amount={r.json().get('amount')!r}; read back {g.status_code}"
    if found is None:
        return 400 <= r.status_code < 500, f"{short(r)}; commit not verifiable ({det})"
    return found is False, f"{short(r)}; committed={found}"


def item1_numbers(sessions):
    bc = tok_client("bob@example.com")
    # values that do not break a vulnerable server first; the list-breaking ones (issue 11, item 1) last
    amounts = [
        ("NaN", "NaN", True), ("Infinity", "Infinity", True), ("-Infinity", "-Infinity", True), ("sNaN", "sNaN", True),
        ("-1e999999", "-1e999999", True), ("1e-999999", "1e-999999", False), ("19-decimals", "0.0000000000000000001", False),
        ("negative", "-5", True), ("hex", "0x10", True), ("fullwidth-digits", "１２.５", False), ("spaces", " 12.5 ", False),
        ("underscore", "1_000", False),
    ]
    poison = [("40-digit-integer", "1" * 40, False), ("5000-digit", "9" * 5000, True), ("1e999999", "1e999999", True)]
    for label, value, must_refuse in amounts:
        check(1, f"api-amount {label}", amount_one, bc, label, value, must_refuse)

    for label, raw in [("json-number-1e400", b"1e400"), ("json-number-huge-int", b"9" * 400), ("json-number-1e308", b"1e308")]:
        def one(label=label, raw=raw):
            marker = f"probe amount {label} {NONCE}"
            body = b'{"category":"withdrawal-issue","title":' + json.dumps(marker).encode() + b',"description":"x","amount":' + raw + b"}"
            r = raw_post(bc, "/api/v1/tickets", body)
            if r.status_code == 429:
                return "SKIP", "rate-limited"
            found, det = find_ticket(bc, marker)
            if found is None:
                return 400 <= r.status_code < 500, f"{short(r)}; commit not verifiable ({det})"
            return (400 <= r.status_code < 500 and found is False), f"{short(r)}; committed={found}"
        check(1, f"api-amount {label}", one)

    bob_web = sessions["bob"]
    for label, value in [("1e999999", "1e999999"), ("5000-digit", "9" * 5000), ("NaN", "NaN"), ("Infinity", "Infinity")]:
        def one(label=label, value=value):
            marker = f"probe portal amount {label} {NONCE}"
            r = portal_create(bob_web, marker, "amount test", amount=value)
            found, det = find_ticket(bc, marker)
            if s5(r):
                return False, f"server error {r.status_code}; committed={found}"
            refused = r.status_code == 200 or 400 <= r.status_code < 500
            if found is None:
                return refused, f"{r.status_code}; commit not verifiable ({det})"
            return refused and found is False, f"{r.status_code}; committed={found}"
        check(1, f"portal-amount {label}", one)

    for label, value, must_refuse in poison:
        check(1, f"api-amount {label}", amount_one, bc, label, value, must_refuse)

    # after all that: every list still answers
    sc = tok_client("supervisor@example.com")
    ac = tok_client("agent@example.com")
    pages = [("bob-token", bc, "/api/v1/tickets"), ("supervisor-token", sc, "/api/v1/tickets"),
             ("agent-token", ac, "/api/v1/tickets"), ("bob-web", bob_web, "/portal/"),
             ("supervisor-web", sessions["supervisor"], "/workspace/"), ("agent-web", sessions["agent"], "/workspace/")]
    for q in ("unassigned", "mine", "escalated", "all"):
        pages.append((f"supervisor-token queue={q}", sc, f"/api/v1/tickets?queue={q}"))
    ws_page = sessions["supervisor"].get("/workspace/")
    links = sorted(set(re.findall(r'href="(/workspace/\?[^"]+)"', ws_page.text)))[:12]
    for link in links:
        pages.append(("supervisor-web", sessions["supervisor"], link.replace("&amp;", "&")))
    for label, cl, path in pages:
        check(1, f"lists-still-work {label} {path}", lambda cl=cl, path=path: ((r := cl.get(path)).status_code == 200, str(r.status_code)))
    # bob's own tickets each readable
    def each():
        r = bc.get("/api/v1/tickets", params={"limit": 100})
        if r.status_code != 200:
            return False, f"list {r.status_code}"
        bad = [it["case_number"] for it in r.json()["items"] if bc.get(f"/api/v1/tickets/{it['case_number']}").status_code != 200]
        return not bad, f"unreadable tickets: {bad or 'none'}"
    check(1, "every-ticket-of-bob-readable", each)


# ============================================================================= item 9 rate limits


def limited(r: httpx.Response) -> bool:
    return r.status_code == 429 or (400 <= r.status_code < 500 and throttle_words(r.text))


def burst(fn, n):
    statuses = []
    first_limited = None
    for i in range(n):
        r = fn(i)
        statuses.append(r.status_code)
        if first_limited is None and limited(r):
            first_limited = i + 1
    return statuses, first_limited


def summarize(statuses):
    out = defaultdict(int)
    for s in statuses:
        out[s] += 1
    return dict(out)


def item9_limits(sessions):
    tc = tok_client("alice@example.com", ip(90))

    def tickets():
        st, first = burst(lambda i: create_ticket(tc, title=f"probe burst {i} {NONCE}", description="burst"), 60)
        return first is not None and not any(s >= 500 for s in st), f"60 API creations: {summarize(st)}; limited from #{first}"
    check(9, "ticket-creation-limited per-customer (API)", tickets)

    def translated():
        en = create_ticket(tok_client("alice@example.com", ip(90), "en"), title="probe limit en", description="x")
        zh = create_ticket(tok_client("alice@example.com", ip(90), "zh-hans"), title="probe limit zh", description="x")
        if not (limited(en) and limited(zh)):
            return False, f"not limited: en {en.status_code}, zh {zh.status_code}"
        try:
            de, dz = en.json().get("detail", ""), zh.json().get("detail", "")
        except Exception:  # noqa: BLE001
            de, dz = en.text[:80], zh.text[:80]
        ok = bool(de) and bool(dz) and de != dz and re.search(r"[\u4e00-\u9fff]", dz) and not re.search(r"[\u4e00-\u9fff]", de)
        return bool(ok), f"en={de[:80]!r} zh={dz[:80]!r} retry-after={en.headers.get('retry-after')}"
    check(9, "limit-message clear-and-translated", translated)

    def portal_shares():
        r = portal_create(sessions["alice"], f"probe burst portal {NONCE}", "after the API limit")
        created = r.status_code in (301, 302, 303) and "/portal/tickets/" in r.headers.get("location", "")
        return not created and r.status_code < 500, f"portal form after API limit answered {r.status_code} created={created}"
    check(9, "portal-form shares the customer's creation limit", portal_shares)

    def messages():
        bcl = tok_client("bob@example.com", ip(91))
        r = create_ticket(bcl, title=f"probe msg burst {NONCE}", description="x")
        if r.status_code != 201:
            return "SKIP", f"could not create a ticket: {r.status_code}"
        case = r.json()["case_number"]
        st, first = burst(lambda i: bcl.post(f"/api/v1/tickets/{case}/messages", json={"body": f"msg {i}"}), 80)
        return first is not None and not any(s >= 500 for s in st), f"80 replies: {summarize(st)}; limited from #{first}"
    check(9, "ticket-reply-limited per-customer", messages)

    def bot_new_chats(local, xff_rotate, label):
        c = anon(local)

        def one(i):
            h = {"X-Forwarded-For": f"198.51.{i // 250}.{i % 250 + 1}"} if xff_rotate else {}
            return c.post("/api/v1/bot/messages", json={"text": f"你好 {i}"}, headers=h)
        st, first = burst(one, 80)
        return first is not None and not any(s >= 500 for s in st), f"80 new anonymous bot chats from one IP{label}: {summarize(st)}; limited from #{first}"
    check(9, "bot-new-chats-limited per-IP", bot_new_chats, ip(92), False, "")
    if BIND:
        check(9, "bot-new-chats-limited X-Forwarded-For-rotation-ignored", bot_new_chats, ip(93), True,
              " (untrusted peer 127.0.0.93, new X-Forwarded-For each time)")
    else:
        record(9, "bot-new-chats-limited X-Forwarded-For-rotation-ignored", "SKIP", "needs a loopback base URL")

    def ws_chats():
        async def go():
            ws = await ws_open("/ws/chat/", None, ip(94))
            await ws_hello(ws)
            limited_at = None
            convs = 0
            for i in range(60):
                await ws_send(ws, {"type": "message", "client_id": uuid.uuid4().hex, "text": f"你好 {i}"})
                frames, closed, code = await ws_collect(ws, until=lambda f: f.get("type") in ("ack", "error"), timeout=20)
                if closed:
                    return convs, limited_at, f"closed {code}"
                if any(f.get("type") == "error" and f.get("code") == "rate_limited" for f in frames):
                    limited_at = i + 1
                    break
                if any(f.get("type") == "conversation" for f in frames):
                    convs += 1
                await ws_send(ws, {"type": "close"})
                await ws_collect(ws, until=lambda f: f.get("type") == "status" and f.get("status") == "closed", timeout=5)
            try:
                await ws.close()
            except Exception:  # noqa: BLE001
                pass
            return convs, limited_at, ""
        convs, at, note = arun(go())
        return at is not None, f"socket: {convs} conversations started, rate_limited at #{at} {note}"
    check(9, "chat-socket-new-conversations-limited", ws_chats)

    def ws_messages():
        async def go():
            ws, conv = await customer_start_chat(None, ip(95), "hello")
            for i in range(120):
                await ws_send(ws, {"type": "message", "client_id": uuid.uuid4().hex, "text": f"msg {i}"})
                frames, closed, code = await ws_collect(ws, until=lambda f: f.get("type") in ("ack", "error"), timeout=20)
                if closed:
                    return None, f"closed {code}"
                if any(f.get("type") == "error" and f.get("code") == "rate_limited" for f in frames):
                    return i + 1, ""
            return None, ""
        at, note = arun(go())
        return at is not None, f"120 chat messages in a row: rate_limited at #{at} {note}"
    check(9, "chat-socket-messages-limited", ws_messages)


# ============================================================================= item 2 sign-in limits


def item2_signin():
    bob = "bob@example.com"
    if not BIND:
        record(2, "signin-checks", "SKIP", "base URL is not 127.0.0.1: cannot use distinct client IPs; only the same-IP checks run")

    # 2a: the admin login is throttled (admin@example.com is used by no other check)
    adm = "admin@example.com"

    def admin():
        src = ip(31)
        answers = []
        for i in range(20):
            _, ok, r = login(adm, f"wrong-{i}", local_ip=src, path="/admin/login/")
            answers.append(r.status_code)
        _, ok, r2 = login(adm, PASSWORD, local_ip=src, path="/admin/login/")
        return not ok, (f"20 wrong at /admin/login/ ({summarize(answers)}), then the right password there from the same IP: "
                        f"{'ACCEPTED (no throttle)' if ok else 'refused'} ({r2.status_code} {r2.headers.get('location', '')})")
    check(2, "admin-login-throttled (same IP, admin@example.com)", admin)

    def admin_shared():
        src = ip(37)
        for i in range(20):
            login(adm, f"wrong-s-{i}", local_ip=src)
        _, ok, r2 = login(adm, PASSWORD, local_ip=src, path="/admin/login/")
        return not ok, (f"20 wrong at /accounts/login/, then the right password at /admin/login/ from the same IP: "
                        f"{'ACCEPTED (admin ignores the limiter)' if ok else 'refused'}")
    check(2, "admin-login-shares-the-limiter (same IP)", admin_shared)

    # 2h: failures under variant spellings count for the canonical account
    def variants_count():
        src = ip(36)
        vs = ["ｂob@example.com", "ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ", "bob@ｅxample.com", "ＢＯＢ@example.com"]
        for i in range(20):
            login(vs[i % len(vs)], f"wrong-{i}", local_ip=src)
        _, ok, r = login(bob, PASSWORD, local_ip=src)
        return not ok, f"20 wrong under full-width spellings from one IP, then the canonical correct sign-in {'SUCCEEDED (variants not counted)' if ok else 'refused'}"
    check(2, "fullwidth-spelling-failures-count-for-the-account", variants_count)

    # 2b: limiter active
    srcA = ip(32)
    for i in range(20):
        login(bob, f"wrong-a-{i}", local_ip=srcA)

    def active():
        _, ok, r = login(bob, PASSWORD, local_ip=srcA)
        return not ok, f"after 20 wrong from {srcA or 'this host'}: correct sign-in {'SUCCEEDED' if ok else 'refused'}"
    check(2, "limiter-active after 20 failures (same IP)", active)

    for v in ["ｂob@example.com", "ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ", "BOB@EXAMPLE.COM", "Bob@example.com", " bob@example.com ",
              "bob@example.com\t", "bob@EXAMPLE.com", "bob@ｅxample.com"]:
        def one(v=v):
            _, ok, r = login(v, PASSWORD, local_ip=srcA)
            return not ok, f"{v!r} with the right password from the same IP after 20 failures: {'SIGNED IN (fresh counter)' if ok else 'refused'}"
        check(2, f"variant-does-not-bypass {ascii(v)}", one)

    if BIND:
        def xff_spoof():
            _, ok, r = login(bob, PASSWORD, local_ip=srcA, xff="198.51.100.77")
            return not ok, f"locked IP {srcA} sends X-Forwarded-For 198.51.100.77 (no trusted proxy): {'SIGNED IN (header trusted)' if ok else 'refused'}"
        check(2, "x-forwarded-for-spoof-ignored (untrusted peer)", xff_spoof)

        def xff_rotate():
            src = ip(35)
            for i in range(20):
                login(bob, f"wrong-x-{i}", local_ip=src, xff=f"203.0.113.{i + 1}")
            _, ok, r = login(bob, PASSWORD, local_ip=src)
            return not ok, f"20 wrong from {src} each with a new X-Forwarded-For, then correct: {'SIGNED IN (failures spread over spoofed IPs)' if ok else 'refused'}"
        check(2, "x-forwarded-for-rotation-does-not-evade", xff_rotate)

        def other_ip():
            _, ok, r = login(bob, PASSWORD, local_ip=ip(33))
            return ok, f"bob already failed 60+ times from 127.0.0.32/35/36; correct sign-in from fresh 127.0.0.33: {'signed in' if ok else 'REFUSED (attacker can lock the user out)'}"
        check(2, "attacker-cannot-lock-out-user (other IP signs in)", other_ip)

        def nat():
            src = ip(34)
            for i in range(55):
                login(f"probe-nobody-{i}-{NONCE[:6]}@example.com", "wrong", local_ip=src)
            _, ok, r = login("alice@example.com", PASSWORD, local_ip=src)
            return ok, f"55 failures for 55 unknown accounts from {src}, then alice correct from it: {'signed in' if ok else 'REFUSED (everybody behind the IP locked out)'}"
        check(2, "ip-failures-do-not-lock-out-others-behind-NAT", nat)
    else:
        for n in ("x-forwarded-for-spoof-ignored", "attacker-cannot-lock-out-user", "ip-failures-do-not-lock-out-others-behind-NAT"):
            record(2, n, "SKIP", "needs distinct client IPs (base URL 127.0.0.1)")


# ============================================================================= item 3/4 log scan


def log_scan():
    if not ARGS.log_file:
        for item, name, _ in PLANTS:
            record(item, name, "SKIP", "no --log-file given")
        return
    planted = {v for _, _, vals in PLANTS for v in vals}
    rest = [v for v in ALL_SECRETS if v not in planted]
    if rest:
        PLANTS.append((4, "log-clean every-other-secret-sent (tickets, replies, chat, mail)", rest))
    time.sleep(2.0)
    text = open(ARGS.log_file, encoding="utf-8", errors="replace").read()
    low = text.lower()
    for item, name, values in PLANTS:
        hits = []
        for v in values:
            words = v.split()
            if len(words) >= 12:
                # any 4 consecutive words of the phrase, joined by any separator or encoding of one
                sep = r"(?:\s|\+|%20|%2b|,|%2c|\\u0020|_|-)+"
                for i in range(0, len(words) - 3):
                    rx = sep.join(map(re.escape, words[i:i + 4]))
                    if re.search(rx, low):
                        hits.append("phrase:" + " ".join(words[i:i + 4]))
                        break
            else:
                if v.lower() in low:
                    hits.append("key:" + v[:12] + "…")
        record(item, name, not hits, f"found in log: {hits}" if hits else "not in the log")


# ============================================================================= setup and main

STATE: dict = {}


def get_token(email: str) -> str:
    cmd = ARGS.token_cmd.format(email=shlex.quote(email))
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120)
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"token command failed for {email}: {out.stderr[-300:]}")
    return lines[-1]


def setup(openapi):
    for p, ops in openapi["paths"].items():
        rx = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)))
        OPENAPI_PATTERNS.append((rx, p, ops))
    for e in ("alice@example.com", "bob@example.com", "agent@example.com", "specialist@example.com", "supervisor@example.com"):
        TOKENS[e] = get_token(e)
    sessions = {}
    for who in ("alice", "bob", "agent", "specialist", "supervisor"):
        c, ok, r = login(f"{who}@example.com", PASSWORD, local_ip=ip(10))
        if not ok:
            raise RuntimeError(f"cannot sign in as {who}: {r.status_code} {r.headers.get('location')}")
        sessions[who] = c
    # alice's base ticket (API) and upload ticket (portal, with a PNG)
    r = create_ticket(tok_client("alice@example.com"), title=f"probe base {NONCE}", description="base ticket for replies")
    STATE["alice_case"] = r.json()["case_number"] if r.status_code == 201 else None
    r = create_ticket(tok_client("bob@example.com"), title=f"probe base bob {NONCE}", description="base ticket for replies")
    STATE["bob_case"] = r.json()["case_number"] if r.status_code == 201 else None
    png = make_png()
    r = portal_create(sessions["alice"], f"probe upload {NONCE}", "upload base", files=[("attachments", ("probe.png", png, "image/png"))])
    m = re.search(r"KF-\d{8}-\d+", r.headers.get("location", ""))
    if m:
        STATE["upload_case"] = m.group(0)
        d = ticket_detail("alice@example.com", m.group(0)) or {}
        for msg in d.get("messages", []):
            for a in msg.get("attachments", []):
                if a["name"] == "probe.png":
                    STATE["upload_url"] = a["url"]
                    STATE["upload_bytes"] = png
    return sessions


def main():
    global BASE, WS_BASE, HOST, BIND, NONCE, ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--smtp", help="host:port of Kefu's SMTP receiver (KEFU_SMTP_LISTEN)")
    ap.add_argument("--log-file", help="the server's stdout/stderr log, scanned for planted secrets")
    ap.add_argument("--token-cmd", required=True, help='shell command printing an API token on its last line; "{email}" is replaced')
    ap.add_argument("--docs-dir", help="the checkout's docs/ directory (checks that deploy.md documents the security settings)")
    ap.add_argument("--only", help="comma-separated item numbers to run (default: all)")
    ARGS = ap.parse_args()
    BASE = ARGS.base_url.rstrip("/")
    u = urlsplit(BASE)
    HOST = u.hostname or ""
    WS_BASE = ("wss://" if u.scheme == "https" else "ws://") + u.netloc
    BIND = HOST == "127.0.0.1"
    NONCE = secrets.token_hex(6)
    only = {int(x) for x in ARGS.only.split(",")} if ARGS.only else set(range(1, 11))
    print(f"# probe against {BASE} nonce={NONCE} distinct-loopback-IPs={BIND} started {time.strftime('%H:%M:%S')}", flush=True)

    if 8 in only:
        check(8, "smtp-first-mail-accepted", item8_smtp_first)
    openapi = httpx.get(BASE + "/api/v1/openapi.json", timeout=TIMEOUT).json()
    sessions = setup(openapi)
    if 8 in only:
        check(8, "concurrent-customers-agents-mail no-5xx-no-451", item8_contention)
    if 10 in only:
        item10_csp(sessions)
        item10_head()
        check(10, "deploy-docs security settings", item10_docs)
    if 3 in only:
        item3_plants(sessions)
    if 4 in only:
        item4_guard(sessions["alice"])
    if 5 in only:
        item5_nul(sessions["alice"], sessions)
    if 6 in only:
        item6_errors(sessions)
    if 7 in only:
        item7_access(sessions, sessions["alice"])
    if 10 in only:
        item10_uploads(sessions["alice"], STATE)
    if 1 in only:
        item1_numbers(sessions)
    if 6 in only:
        item6_status_codes(openapi)
    if 9 in only:
        item9_limits(sessions)
    if 2 in only:
        item2_signin()
    if 3 in only or 4 in only:
        log_scan()

    per = defaultdict(lambda: defaultdict(int))
    for item, _, status, _ in RESULTS:
        per[item][status] += 1
    print("#" * 60)
    for item in sorted(per):
        d = per[item]
        print(f"item{item} pass={d['PASS']} fail={d['FAIL']} skip={d['SKIP']}")
    tp = sum(d["PASS"] for d in per.values())
    tf = sum(d["FAIL"] for d in per.values())
    ts = sum(d["SKIP"] for d in per.values())
    print(f"TOTAL pass={tp} fail={tf} skip={ts}")


if __name__ == "__main__":
    main()
