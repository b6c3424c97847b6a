"""The one limiter for everything that checks a secret: passwords (Kefu's sign-in page and the
Django admin's, both through :class:`kefu.accounts.backends.EmailBackend`) and staff TOTP codes.

Design (after OWASP's "Slow Down Online Guessing Attacks with Device Cookies" and the
authentication cheat sheet, and django-axes' username+IP lockout parameters):

* **One key per account**: :func:`kefu.accounts.models.canonical_email` (NFKC + casefold), the
  same function the backend looks accounts up with, so ``ｓpecialist@Example.com`` counts
  against ``specialist@example.com``.
* **Client IP** from :func:`kefu.clientip.client_ip` (``X-Forwarded-For`` only behind
  ``KEFU_TRUSTED_PROXIES``).
* **Back-off, never a lockout**: each counter allows ``limit`` failures, then every further
  attempt must wait ``window/20`` seconds after the previous one, doubling per failure up to
  ``window``. An attempt made while waiting is refused without checking the secret and is
  not counted, so hammering does not extend the wait. Counters forget after two quiet windows.
* **Three counters**, chosen so that an attacker cannot lock a real user out:

  1. *(account, client)* — the client is the browser's signed device cookie (issued after a
     complete sign-in, see :func:`remember_device`) or, without one, the client IP. This is
     the tight limit (``KEFU_LOGIN_RATE``). Guessing from your own IP or device only slows
     you down; success resets it.
  2. *account, untrusted clients* — failures on one account from anywhere except its trusted
     devices (``KEFU_LOGIN_ACCOUNT_RATE``): stops a botnet spreading guesses over many IPs.
     When it trips, only *untrusted* clients wait: a browser holding the account's device
     cookie, or an IP the account signed in from before, goes straight past it. OWASP's
     trade-off: a new device may wait at worst ``window`` seconds between tries while an
     attack runs; a known one never does.
  3. *client IP, across accounts* — credential stuffing from one address
     (``KEFU_LOGIN_IP_RATE``, a high threshold because offices and mobile carriers put many
     people behind one NAT). Accounts with a device cookie or that signed in from that IP
     before skip it, so a NAT neighbour's stuffing run does not lock them out.

* Concurrency: counters are incremented *before* the secret is checked (and given back on
  success), with an atomic ``incr`` in the cache (Redis in production), so a burst of
  parallel guesses cannot all pass the same check.

Customer verification codes (``kefu.identity.actions``) keep their own per-challenge
failure count and lockout in the database: a challenge belongs to one signed-in customer,
so nobody else can spend its attempts.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from kefu.accounts.models import canonical_email
from kefu.accounts.ratelimit import parse_rate
from kefu.clientip import client_ip

DEVICE_COOKIE = "kefu_device"
DEVICE_MAX_AGE = 180 * 24 * 3600
DEVICE_ACCOUNTS = 8  # accounts one browser is remembered for (shared support desks)
KNOWN_IP_SECONDS = 90 * 24 * 3600
_SALT = "kefu.accounts.throttle.device"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _rates(scope: str) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    pair = parse_rate(settings.KEFU_TOTP_RATE if scope == "totp" else settings.KEFU_LOGIN_RATE)
    return pair, parse_rate(settings.KEFU_LOGIN_ACCOUNT_RATE), parse_rate(settings.KEFU_LOGIN_IP_RATE)


@dataclass
class _Counter:
    key: str
    limit: int
    window: int
    reset_on_success: bool  # the pair counter: success proves the secret, start afresh

    @property
    def ttl(self) -> int:
        return 2 * self.window

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the previous attempt, with ``failures`` failures counted."""
        over = failures - self.limit
        if over < 0:
            return 0.0
        base = max(1.0, self.window / 20)
        return min(float(self.window), base * float(2 ** min(over, 32)))

    def enter(self, now: float) -> float:
        """Count this attempt; 0 if admitted, else the seconds still to wait (not counted)."""
        count_key = self.key + ":n"
        if cache.add(count_key, 1, timeout=self.ttl):
            count = 1
        else:
            try:
                count = cache.incr(count_key)
            except ValueError:  # expired between add and incr
                cache.add(count_key, 1, timeout=self.ttl)
                count = 1
        wait = (cache.get(self.key + ":t") or 0.0) + self.backoff(count - 1) - now
        if wait > 0:
            self.give_back()
            return wait
        return 0.0

    def stamp(self, now: float) -> None:
        cache.set(self.key + ":t", now, timeout=self.ttl)
        cache.touch(self.key + ":n", self.ttl)

    def give_back(self) -> None:
        try:
            cache.decr(self.key + ":n")
        except ValueError:
            pass


@dataclass
class Gate:
    """One attempt at a secret: ``admitted`` or ``retry_after`` seconds to wait."""

    ip: str | None
    admitted: bool = True
    retry_after: int = 0
    counters: list[_Counter] = field(default_factory=list)

    def succeeded(self) -> None:
        """The secret was right: reset the client's counter and give the attempt back."""
        for counter in self.counters:
            if counter.reset_on_success:
                cache.delete_many([counter.key + ":n", counter.key + ":t"])
            else:
                counter.give_back()
        self.counters = []


def _known_ip_key(account: str, ip: str) -> str:
    return "thr:known:" + _digest(account, ip)


def _device_accounts(request: HttpRequest | None) -> tuple[str, list[str]]:
    """The browser's device id and the account digests it signed in to (empty if none/forged)."""
    raw = request.COOKIES.get(DEVICE_COOKIE, "") if request is not None else ""
    if not raw:
        return "", []
    try:
        data = signing.loads(raw, salt=_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return "", []
    if not isinstance(data, dict) or not isinstance(data.get("d"), str) or not isinstance(data.get("a"), list):
        return "", []
    return data["d"], [str(a) for a in data["a"]]


def trusted_device(request: HttpRequest | None, account: str) -> str:
    """The device id if this browser completed a sign-in to ``account`` before, else ``""``."""
    device, accounts = _device_accounts(request)
    return device if device and _digest("acct", account) in accounts else ""


def attempt(
    scope: str,
    account: str,
    *,
    ip: str | None,
    device: str = "",
    now: float | None = None,
) -> Gate:
    """Ask to check one secret for ``account`` (already canonical) from ``ip`` / ``device``."""
    now = time.time() if now is None else now
    (p_limit, p_window), (a_limit, a_window), (i_limit, i_window) = _rates(scope)
    ip_text = ip or "-"
    gate = Gate(ip=ip)
    if device:
        counters = [_Counter(f"thr:{scope}:dev:" + _digest(account, device), p_limit, p_window, True)]
    else:
        counters = [_Counter(f"thr:{scope}:pair:" + _digest(account, ip_text), p_limit, p_window, True)]
        if not (ip and cache.get(_known_ip_key(account, ip))):
            counters.append(_Counter(f"thr:{scope}:acct:" + _digest(account), a_limit, a_window, False))
            counters.append(_Counter(f"thr:{scope}:ip:" + _digest(ip_text), i_limit, i_window, False))
    entered: list[_Counter] = []
    longest = 0.0
    for counter in counters:
        wait = counter.enter(now)
        if wait > 0:
            longest = max(longest, wait)
        else:
            entered.append(counter)
    if longest > 0:
        for counter in entered:
            counter.give_back()
        gate.admitted = False
        gate.retry_after = math.ceil(longest)
        return gate
    for counter in entered:
        counter.stamp(now)
    gate.counters = entered
    return gate


def attempt_for_request(request: HttpRequest | None, scope: str, account: str) -> Gate:
    account = canonical_email(account)
    ip = client_ip(request) if request is not None else None
    return attempt(scope, account, ip=ip, device=trusted_device(request, account))


def remember_device(request: HttpRequest, account: str) -> None:
    """After a complete sign-in: trust this browser and this IP for ``account`` from now on.

    The cookie is written by :class:`DeviceCookieMiddleware` on the way out."""
    account = canonical_email(account)
    ip = client_ip(request)
    if ip:
        cache.set(_known_ip_key(account, ip), 1, timeout=KNOWN_IP_SECONDS)
    device, accounts = _device_accounts(request)
    digest = _digest("acct", account)
    accounts = [a for a in accounts if a != digest][-(DEVICE_ACCOUNTS - 1) :] + [digest]
    request._kefu_device_cookie = signing.dumps(  # type: ignore[attr-defined]
        {"d": device or secrets.token_urlsafe(16), "a": accounts}, salt=_SALT
    )


class DeviceCookieMiddleware(MiddlewareMixin):
    """Sets the device cookie that :func:`remember_device` prepared during the request."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        value = getattr(request, "_kefu_device_cookie", None)
        if value:
            response.set_cookie(
                DEVICE_COOKIE,
                value,
                max_age=DEVICE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
