"""Is this phone number, website, email address or handle an official channel?

Values are normalised to one canonical form per kind (what the registry stores in
``OfficialChannel.normalized``) and compared with the registry; anything not registered is
*not official* — never "safe" — and look-alikes of registered channels are called out.

Normal forms:

* website: the host only (userinfo, port, path dropped; ``https://brand.example@evil.example``
  is ``evil.example``), lower case, trailing dot removed, IDNA UTS-46 (full-width and
  ideographic full stops mapped) and shown as punycode (``xn--...``). A registered domain
  covers its subdomains.
* email: ``local@domain`` lower-cased, the domain as for websites. An address at a
  registered website domain (or a subdomain of one) counts as official too.
* phone: E.164 via ``phonenumbers``; national numbers read in ``settings.KEFU_PHONE_REGION``
  (default ``CN``).
* telegram / x: the handle, lower case, from ``t.me/NAME``, ``https://x.com/NAME``,
  ``twitter.com/NAME``, ``@NAME`` or ``NAME``; Telegram numeric ids and invite links allowed.

Registrable domain ("eTLD+1") without a public-suffix download: the last two labels, or the
last three when the last two are a common two-level suffix (``com.cn``, ``co.uk``,
``com.hk`` ... see ``TWO_LEVEL_SUFFIXES``). Good enough to tell ``brand.example.evil.example``
(registrable ``evil.example``) from ``help.brand.example``; a suffix missing from the list only
makes a look-alike check compare one label too many, never makes anything official.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import idna
import phonenumbers
from django.utils.translation import gettext as _

KINDS = ("website", "email", "phone", "telegram", "x", "other")

TWO_LEVEL_SUFFIXES = frozenset(
    """
    com.cn net.cn org.cn gov.cn edu.cn ac.cn mil.cn
    com.hk net.hk org.hk edu.hk gov.hk idv.hk com.mo net.mo org.mo
    com.tw net.tw org.tw edu.tw gov.tw idv.tw
    co.uk org.uk me.uk ltd.uk plc.uk net.uk ac.uk gov.uk
    co.jp ne.jp or.jp ac.jp go.jp co.kr or.kr ne.kr
    com.sg net.sg org.sg edu.sg com.my net.my com.ph com.vn com.au net.au org.au co.nz
    co.in net.in org.in co.id co.th co.za com.br com.mx com.ar com.tr com.ua com.ru
    """.split()
)

TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog", "www.t.me", "www.telegram.me"})
X_HOSTS = frozenset(
    {"x.com", "www.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com", "mobile.x.com"}
)
X_RESERVED = frozenset(
    {"home", "i", "intent", "search", "explore", "settings", "share", "hashtag", "messages", "notifications"}
)

# Letters that render (nearly) like Latin ones, and digit-for-letter swaps. Both sides of a
# comparison are mapped, so "1", "l", "i" and "I" all become "l".
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "і": "l", "ї": "l", "ј": "j", "ѕ": "s", "һ": "h",
        "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ь": "b", "п": "n", "г": "r", "ѡ": "w",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "l", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "γ": "y", "μ": "u", "ω": "w",
        # Latin look-alikes
        "ı": "l", "ł": "l", "ɩ": "l", "ƚ": "l", "ǀ": "l", "ʟ": "l", "ɑ": "a", "ȷ": "j", "ɡ": "g",
        "ß": "b", "ø": "o", "đ": "d", "ħ": "h",
        # digits and letters that pass for one another
        "0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "5": "s", "3": "e", "4": "a", "7": "t",
        "8": "b", "9": "g", "6": "b", "2": "z", "$": "s", "@": "a",
    }
)  # fmt: skip
_MULTI_CONFUSABLES = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SEPARATORS = str.maketrans("", "", "-_.")

_HANDLE_TELEGRAM = re.compile(r"[a-z][a-z0-9_]{3,31}")
_TELEGRAM_ID = re.compile(r"-?\d{5,20}")
_TELEGRAM_INVITE = re.compile(r"\+[A-Za-z0-9_-]{8,64}")
_HANDLE_X = re.compile(r"[a-z0-9_]{1,15}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?=/)")


class InvalidChannelValue(ValueError):
    """The value cannot be read as a channel of the given kind (message is translated)."""


@dataclass(frozen=True)
class CheckResult:
    official: bool
    kind: str
    normalized: str
    lookalike_of: str | None
    matched: str | None
    # How a browser or mail client shows an internationalised (``xn--``) name; "" when it
    # reads the same as ``normalized``.
    unicode: str = ""


@dataclass(frozen=True)
class Normalized:
    kind: str
    value: str
    # For a URL with userinfo (``https://brand.example@evil.example``): the part a reader
    # mistakes for the host. Look-alike checks read it too.
    decoy: str = ""


# --------------------------------------------------------------------------- normalisation


def normalize(kind: str, value: str, *, region: str | None = None) -> Normalized:
    """The canonical form of ``value`` as a channel of ``kind``.

    A website value that is a Telegram or X link is read as that handle (the kind changes).
    Raises :class:`InvalidChannelValue`.
    """
    if kind not in KINDS:
        raise InvalidChannelValue(_("Unknown channel kind “{kind}”.").format(kind=str(kind)[:20]))
    raw = unicodedata.normalize("NFKC", value or "").strip()
    if not raw:
        raise InvalidChannelValue(_("Enter a value to check."))
    if len(raw) > 500:
        raise InvalidChannelValue(_("This value is too long."))
    if kind == "website":
        host = normalize_host(raw)
        # A link to a Telegram or X profile is checked as that handle.
        try:
            if host in TELEGRAM_HOSTS:
                return Normalized("telegram", _telegram(raw))
            if host in X_HOSTS:
                return Normalized("x", _x(raw))
        except InvalidChannelValue:
            pass
        return Normalized("website", host, decoy=_userinfo(raw))
    if kind == "email":
        return Normalized("email", _email(raw))
    if kind == "phone":
        return Normalized("phone", _phone(raw, region=region))
    if kind == "telegram":
        return Normalized("telegram", _telegram(raw))
    if kind == "x":
        return Normalized("x", _x(raw))
    return Normalized("other", " ".join(raw.casefold().split()))


def normalize_host(value: str) -> str:
    """The host of a URL or domain, lower-case punycode (raises :class:`InvalidChannelValue`)."""
    error = InvalidChannelValue(_("Enter a website address or domain name, for example example.com."))
    raw = unicodedata.normalize("NFKC", value).strip().replace("\\", "/")
    raw = raw.replace("\u3002", ".").replace("\uff61", ".")  # ideographic full stops
    scheme = _SCHEME.match(raw)
    rest = raw[scheme.end() :] if scheme else raw
    try:
        netloc = urlsplit("//" + rest.lstrip("/")).netloc
    except ValueError as exc:
        raise error from exc
    host = unquote(netloc.rpartition("@")[2])  # browsers use what follows the last "@"
    if host.startswith("["):
        host = host[1:].partition("]")[0]
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError as exc:
            raise error from exc
    host = host.partition(":")[0].strip().rstrip(".").lower()
    if not host or any(c.isspace() for c in host):
        raise error
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    try:
        ascii_host = idna.encode(host, uts46=True, std3_rules=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        # Pasted punycode whose label IDNA 2008 refuses (a mapped or disallowed character such
        # as "ⅼ", a soft hyphen or a symbol): it is still a name someone shows a customer, so
        # judge it as written. It can never be ours: registered channels pass the strict rules.
        raw_host = _raw_punycode_host(host)
        if raw_host is None:
            raise error from exc
        ascii_host = raw_host
    labels = ascii_host.split(".")
    if len(labels) < 2 or labels[-1].isdigit() or len(ascii_host) > 253:
        raise error
    return ascii_host


_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _raw_punycode_host(host: str) -> str | None:
    """``host`` if it is plain ASCII letters, digits and hyphens with at least one ``xn--`` label
    that decodes as punycode; else None."""
    labels = host.split(".")
    if not any(label.startswith("xn--") for label in labels):
        return None
    for label in labels:
        if not _LDH_LABEL.fullmatch(label):
            return None
        if label.startswith("xn--") and _decode_punycode_label(label) is None:
            return None
    return host


def _decode_punycode_label(label: str) -> str | None:
    try:
        return idna.decode(label)
    except (idna.IDNAError, UnicodeError, ValueError):
        pass
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return None
    return decoded if decoded and all(c.isprintable() or c in "\u00ad\u200c\u200d" for c in decoded) else None


def unicode_host(host: str) -> str:
    """How a browser shows ``host``: each ``xn--`` label decoded (leniently, label by label)."""
    labels = []
    for label in host.split("."):
        decoded = _decode_punycode_label(label) if label.startswith("xn--") else None
        labels.append(decoded if decoded is not None else label)
    return ".".join(labels)


def unicode_form(kind: str, normalized: str) -> str:
    """The Unicode form of a website or email address with an internationalised domain, else ""."""
    if kind == "website":
        shown = unicode_host(normalized)
    elif kind == "email":
        local, at, domain = normalized.rpartition("@")
        shown = f"{local}{at}{unicode_host(domain)}"
    else:
        return ""
    return shown if shown != normalized else ""


def _userinfo(raw: str) -> str:
    scheme = _SCHEME.match(raw)
    rest = (raw[scheme.end() :] if scheme else raw).replace("\\", "/").lstrip("/")
    try:
        netloc = urlsplit("//" + rest).netloc
    except ValueError:
        return ""
    return unquote(netloc.rpartition("@")[0]).lower()


def _email(raw: str) -> str:
    error = InvalidChannelValue(_("Enter an email address, for example name@example.com."))
    if "<" in raw and raw.endswith(">"):  # "Support <support@example.com>"
        raw = raw.rpartition("<")[2][:-1].strip()
    if raw.lower().startswith("mailto:"):
        raw = raw[7:].partition("?")[0]
    local, at, domain = raw.rpartition("@")
    if not at or not local or not domain or len(local) > 64 or any(c.isspace() for c in raw):
        raise error
    if any(c in domain for c in "/?#@:"):
        raise error
    try:
        host = normalize_host(domain)
    except InvalidChannelValue as exc:
        raise error from exc
    return f"{local.lower()}@{host}"


def default_phone_region() -> str:
    from django.conf import settings

    return settings.KEFU_PHONE_REGION or "CN"


def _phone(raw: str, *, region: str | None) -> str:
    error = InvalidChannelValue(_("Enter a phone number, with its country code if it is not a local number."))
    if raw.lower().startswith("tel:"):
        raw = raw[4:]
    if sum(c.isdigit() for c in raw) < 5 or re.search(r"[A-Za-z]{2,}", raw):
        raise error
    try:
        number = phonenumbers.parse(raw, region or default_phone_region())
    except phonenumbers.NumberParseException as exc:
        raise error from exc
    if not phonenumbers.is_possible_number(number):
        raise error
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _url_path(raw: str, hosts: frozenset[str]) -> str | None:
    """The path of ``raw`` if it is a link to one of ``hosts`` (scheme optional)."""
    scheme = _SCHEME.match(raw)
    rest = raw[scheme.end() :] if scheme else raw
    try:
        parts = urlsplit("//" + rest.lstrip("/"))
    except ValueError:
        return None
    host = parts.netloc.rpartition("@")[2].partition(":")[0].lower().rstrip(".")
    if host not in hosts:
        return None
    return parts.path


def _telegram(raw: str) -> str:
    error = InvalidChannelValue(_("Enter a Telegram username, t.me link or numeric ID."))
    if raw.lower().startswith("tg://"):
        query = parse_qs(urlsplit(raw).query)
        raw = (query.get("domain") or [""])[0]
    else:
        path = _url_path(raw, TELEGRAM_HOSTS)
        if path is not None:
            segments = [s for s in path.split("/") if s]
            if segments and segments[0].lower() == "s":  # t.me/s/NAME (web preview)
                segments = segments[1:]
            if segments and segments[0].lower() == "joinchat" and len(segments) > 1:
                segments = ["+" + segments[1]]
            raw = segments[0] if segments else ""
    handle = raw.strip()
    if _TELEGRAM_INVITE.fullmatch(handle):
        return handle  # invite hashes are case-sensitive
    handle = handle.removeprefix("@").lower()
    if _HANDLE_TELEGRAM.fullmatch(handle) or _TELEGRAM_ID.fullmatch(handle):
        return handle
    raise error


def _x_path_handle(raw: str) -> str | None:
    path = _url_path(raw, X_HOSTS)
    if path is None:
        return None
    segments = [s for s in path.split("/") if s]
    return segments[0] if segments else ""


def _x(raw: str) -> str:
    error = InvalidChannelValue(_("Enter an X (Twitter) username or x.com link."))
    from_link = _x_path_handle(raw)
    handle = (from_link if from_link is not None else raw).strip().removeprefix("@").lower()
    if handle in X_RESERVED or not _HANDLE_X.fullmatch(handle):
        raise error
    return handle


# --------------------------------------------------------------------------- comparison


def registrable_domain(host: str) -> str:
    """``help.brand.example`` → ``brand.example``; ``a.brand.com.cn`` → ``brand.com.cn``."""
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in TWO_LEVEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _brand_label(host: str) -> str:
    """The label a brand registers: ``brand`` of ``brand.example`` or ``brand.com.cn``."""
    return registrable_domain(host).split(".")[0]


def _unicode_host(host: str) -> str:
    return unicode_host(host)


def skeleton(text: str) -> str:
    """A form in which look-alike strings become equal: homoglyphs, digit swaps, accents."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c)).translate(_CONFUSABLES)
    for many, one in _MULTI_CONFUSABLES:
        folded = folded.replace(many, one)
    return folded


def edit_distance(a: str, b: str, *, limit: int = 3) -> int:
    """Optimal string alignment distance (adjacent swaps count 1), capped at ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def _close(candidate: str, brand: str) -> bool:
    """Skeleton-equal, or within edit distance 2 (brand of 6+ characters) or 1 (shorter)."""
    if not candidate or not brand:
        return False
    a, b = skeleton(candidate).translate(_SEPARATORS), skeleton(brand).translate(_SEPARATORS)
    if a == b:
        return True
    allowed = 2 if len(brand) >= 6 else 1
    return edit_distance(a, b, limit=allowed) <= allowed


def _contains_brand(candidate: str, brand: str) -> bool:
    """The brand (5+ characters) inside a longer name: ``lumenwallet-support``, ``lumenwallet_help``."""
    b = skeleton(brand).translate(_SEPARATORS)
    return len(b) >= 5 and b in skeleton(candidate).translate(_SEPARATORS)


@dataclass(frozen=True)
class _Official:
    kind: str
    value: str

    @property
    def domain(self) -> str | None:
        if self.kind == "website":
            return self.value
        if self.kind == "email":
            return self.value.rpartition("@")[2]
        return None

    @property
    def brand_tokens(self) -> list[str]:
        """Names a scammer would borrow from this channel."""
        domain = self.domain
        if domain is not None:
            try:
                ipaddress.ip_address(domain)
                return []
            except ValueError:
                return [_brand_label(domain)]
        if self.kind in ("telegram", "x") and not _TELEGRAM_ID.fullmatch(self.value):
            return [self.value.lstrip("+")]
        return []


def _covered(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def evaluate(
    kind: str, normalized: str, officials: Iterable[tuple[str, str]], *, decoy: str = ""
) -> CheckResult:
    """Compare a normalised value with the registry's ``(kind, normalized)`` pairs (no I/O)."""
    registry = [_Official(k, v) for k, v in officials]
    shown = unicode_form(kind, normalized)
    matched = _official_match(kind, normalized, registry)
    if matched is not None:
        return CheckResult(
            official=True, kind=kind, normalized=normalized, lookalike_of=None, matched=matched, unicode=shown
        )
    lookalike = _lookalike_of(kind, normalized, registry)
    if lookalike is None and decoy:
        # https://lumenwallet.example@evil.example/ shows the brand but goes to evil.example.
        lookalike = _domain_lookalike(decoy.partition(":")[0].rstrip("."), registry, prefer=kind)
    return CheckResult(
        official=False, kind=kind, normalized=normalized, lookalike_of=lookalike, matched=None, unicode=shown
    )


def _official_match(kind: str, normalized: str, registry: list[_Official]) -> str | None:
    for official in registry:
        if official.kind == kind and official.value == normalized:
            return official.value
    if kind == "website":
        for official in registry:
            if official.kind == "website" and _covered(normalized, official.value):
                return official.value
    if kind == "email":
        domain = normalized.rpartition("@")[2]
        for official in registry:
            if official.kind == "website" and _covered(domain, official.value):
                return official.value
    return None


def _lookalike_of(kind: str, normalized: str, registry: list[_Official]) -> str | None:
    if kind == "website":
        return _domain_lookalike(normalized, registry, prefer="website")
    if kind == "email":
        local, _at, domain = normalized.rpartition("@")
        hit = _domain_lookalike(domain, registry, prefer="email")
        if hit is not None:
            return hit
        return _name_lookalike(local, "email", registry, exact_kind_only=False)
    if kind in ("telegram", "x"):
        if _TELEGRAM_ID.fullmatch(normalized) or normalized.startswith("+"):
            return None
        # A handle is answered only with a registered handle of its own network: "it imitates
        # support@…" would send a customer to compare a Telegram name with an email address.
        return _name_lookalike(normalized, kind, registry, exact_kind_only=False, same_kind_answer=True)
    if kind == "phone":
        return _phone_lookalike(normalized, registry)
    return _name_lookalike(normalized, kind, registry, exact_kind_only=True)


def _domain_lookalike(host: str, registry: list[_Official], *, prefer: str) -> str | None:
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    unicode_host = _unicode_host(host)
    registrable = registrable_domain(unicode_host)
    suffix_len = len(registrable.split(".")) - 1
    labels = unicode_host.split(".")
    name_labels = labels[: len(labels) - suffix_len]  # every label but the public suffix
    hits: list[_Official] = []
    for official in registry:
        domain = official.domain
        if domain is None:
            if official.kind in ("telegram", "x") and any(
                _contains_brand(label, token) for label in name_labels for token in official.brand_tokens
            ):
                hits.append(official)
            continue
        try:
            ipaddress.ip_address(domain)
            continue
        except ValueError:
            pass
        official_unicode = _unicode_host(domain)
        brand = _brand_label(official_unicode)
        if skeleton(registrable) == skeleton(registrable_domain(official_unicode)):
            hits.append(official)  # homoglyphs, digit swaps, full-width: same name on screen
        elif any(_close(label, brand) for label in name_labels):
            hits.append(official)  # same or nearly the same name, maybe another suffix
        elif any(_contains_brand(label, brand) for label in name_labels):
            hits.append(official)  # lumenwallet-support.example, lumenwallet.example.evil.example
        elif _contains_brand(".".join(name_labels), brand):
            hits.append(official)  # lumen.wallet.evil.example
    return _pick(hits, prefer, registry)


def _name_lookalike(
    name: str,
    kind: str,
    registry: list[_Official],
    *,
    exact_kind_only: bool,
    same_kind_answer: bool = False,
) -> str | None:
    hits: list[_Official] = []
    for official in registry:
        if official.kind == kind and kind in ("telegram", "x", "other"):
            if _close(name, official.value) or _contains_brand(name, official.value):
                hits.append(official)
                continue
        if exact_kind_only:
            continue
        for token in official.brand_tokens:
            if _contains_brand(name, token) or (len(token) >= 5 and _close(name, token)):
                hits.append(official)
                break
    if same_kind_answer and not any(official.kind == kind for official in registry):
        return None
    return _pick(hits, kind, registry)


def _pick(hits: list[_Official], prefer: str, registry: list[_Official]) -> str | None:
    """The official channel to point the customer to: one of the kind they asked about if any.

    A Telegram handle that borrows the brand of the website is best answered with the
    official Telegram account, the one to use instead.
    """
    if not hits:
        return None
    for official in (*hits, *registry):
        if official.kind == prefer:
            return official.value
    return hits[0].value


def _phone_lookalike(number: str, registry: list[_Official]) -> str | None:
    for official in registry:
        if official.kind != "phone" or len(official.value) < 8:
            continue
        if len(official.value) == len(number) and edit_distance(number, official.value, limit=1) <= 1:
            return official.value
    return None


# --------------------------------------------------------------------------- entry point


def check_channel(*, kind: str, value: str) -> CheckResult:
    """Whether ``value`` is an official channel of ``kind``, or a look-alike of one.

    Raises :class:`InvalidChannelValue` for a value that is not a ``kind`` at all.
    """
    from kefu.trust.selectors import official_channel_pairs

    normalized = normalize(kind, value)
    return evaluate(normalized.kind, normalized.value, official_channel_pairs(), decoy=normalized.decoy)


def advice_for(result: CheckResult) -> str:
    """What the customer should do, in the active language."""
    from django.conf import settings

    brand = settings.KEFU_BRAND_NAME
    if result.official:
        return _(
            "This is an official {brand} channel. Even so, nobody from support will ever ask for "
            "your seed phrase, private key or verification codes."
        ).format(brand=brand)
    if result.lookalike_of:
        return _(
            "Not official. It looks like our official channel {official}, which is a common scam "
            "trick. Do not send money, verification codes, your seed phrase or your private key."
        ).format(official=result.lookalike_of)
    return _(
        "Not on our list of official channels, so treat it as unofficial: do not send money, "
        "verification codes, your seed phrase or your private key. Contact us only through the "
        "channels this page confirms."
    )
