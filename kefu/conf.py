"""The settings registry: every ``KEFU_*`` setting, declared once.

Each :class:`Setting` names its variable, its kind (how the environment's text becomes a value
and how a bad value is refused), its default (written as it would be in the environment), a
one-line doc and whether it is a secret. ``kefu/settings.py`` fills every one of them into
Django's settings through :func:`load`, so application code reads ``django.conf.settings`` only
and never the environment. ``kefu config show|check|docs`` and the system checks
(``kefu/checks.py``) read the same table; the README's configuration table is generated from it.

This module imports nothing from Django's configured settings: it runs while settings load.
"""

from __future__ import annotations

import difflib
import ipaddress
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

MASK = "***"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class InvalidValue(ValueError):
    """A value the kind refuses; its text completes ``NAME: "value" ...``."""


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str
    default: str
    doc: str
    secret: bool = False
    choices: tuple[str, ...] = ()
    # Extra check on the parsed value: returns a complaint or None.
    validator: Callable[[Any], str | None] | None = None

    def parse(self, text: str) -> Any:
        """The value of ``text``; raises :class:`InvalidValue`."""
        return _PARSERS[self.kind](self, text.strip())


# --- kinds ------------------------------------------------------------------------------------


def _str(setting: Setting, text: str) -> str:
    if setting.choices and text not in setting.choices:
        raise InvalidValue(f"is not one of {', '.join(setting.choices)}")
    return text


def _int(setting: Setting, text: str) -> int | None:
    if text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise InvalidValue("is not a whole number") from None
    if value < 0:
        raise InvalidValue("must not be negative")
    if setting.choices and text not in setting.choices:
        raise InvalidValue(f"is not one of {', '.join(setting.choices)}")
    return value


def _float(setting: Setting, text: str) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidValue("is not a number") from None
    if not value >= 0 or value == float("inf"):  # also refuses nan
        raise InvalidValue("must be a finite number, not negative")
    return value


def _bool(setting: Setting, text: str) -> bool | None:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    if lowered == "":
        return None  # "decide for me" (only where the default is empty)
    raise InvalidValue("is not a yes/no value (1/0, true/false, yes/no, on/off)")


def _list(setting: Setting, text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _url(setting: Setting, text: str) -> str:
    if text == "":
        return ""
    parts = urlsplit(text)
    if not parts.scheme or not (parts.netloc or parts.scheme in {"console", "sqlite"}):
        raise InvalidValue("is not a URL (scheme://host...)")
    if setting.choices and parts.scheme not in setting.choices:
        raise InvalidValue(f"is not a URL starting with {' or '.join(s + '://' for s in setting.choices)}")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InvalidValue("has a malformed port") from None
    return text


def _path(setting: Setting, text: str) -> Path | None:
    return Path(text).expanduser() if text else None


def _rate_text(text: str) -> tuple[int, int]:
    count, slash, seconds = text.partition("/")
    try:
        pair = int(count), int(seconds)
    except ValueError:
        raise InvalidValue('is not a rate "count/seconds" (e.g. 10/300)') from None
    if not slash or pair[0] < 0 or pair[1] <= 0:
        raise InvalidValue('is not a rate "count/seconds" (e.g. 10/300)')
    return pair


def _rate(setting: Setting, text: str) -> str:
    _rate_text(text)
    return text


def _rate_pair(setting: Setting, text: str) -> tuple[int, int]:
    return _rate_text(text)


def _hostport(setting: Setting, text: str) -> str:
    if text == "":
        return ""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidValue("is not host:port (e.g. 0.0.0.0:2525)")
    return text


def _networks(setting: Setting, text: str) -> str:
    for item in _list(setting, text):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise InvalidValue(f"lists {item!r}, which is not an IP address or CIDR network") from None
    return text


def _mapping(setting: Setting, text: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in _list(setting, text):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise InvalidValue("is not a list of name=value pairs (e.g. ethereum=12,bsc=3)")
        inner = Setting(setting.name, "int" if setting.choices == ("int",) else "url", "", "")
        result[key.strip()] = inner.parse(value)
    return result


def _time_zone(setting: Setting, text: str) -> str:
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidValue("is not a time zone name (e.g. Asia/Shanghai)") from None
    return text


_PARSERS: dict[str, Callable[[Setting, str], Any]] = {
    "str": _str,
    "secret": _str,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "list": _list,
    "url": _url,
    "path": _path,
    "rate": _rate,
    "rate_pair": _rate_pair,
    "hostport": _hostport,
    "networks": _networks,
    "mapping": _mapping,
    "timezone": _time_zone,
}


def _email(value: Any) -> str | None:
    return None if "@" in str(value) else "is not an e-mail address"


# --- the registry -------------------------------------------------------------------------

_S = Setting
SETTINGS: tuple[Setting, ...] = (
    # Core
    _S("KEFU_DATA_DIR", "path", "./var", "SQLite file, uploads, generated secret key, cached models"),
    _S(
        "KEFU_DATABASE_URL",
        "url",
        "",
        "PostgreSQL, e.g. `postgres://kefu:secret@db:5432/kefu`; empty: SQLite in the data dir",
        secret=True,
    ),
    _S("KEFU_DATABASE_POOL", "bool", "on", "lend PostgreSQL connections from a psycopg pool"),
    _S("KEFU_DATABASE_POOL_SIZE", "int", "16", "PostgreSQL connections each process may hold in its pool"),
    _S(
        "KEFU_DATABASE_SERVER_SIDE_BINDING",
        "bool",
        "on",
        "PostgreSQL prepared statements (off behind a transaction-pooling PgBouncer)",
    ),
    _S(
        "KEFU_REDIS_URL",
        "url",
        "",
        "Redis for the cache, rate limits, WebSocket layer and job queue (then `kefu worker` runs jobs); empty: in-process",
        secret=True,
        choices=("redis", "rediss", "unix"),
    ),
    _S(
        "KEFU_WORKER_CONCURRENCY",
        "int",
        "2",
        "job threads of a `kefu worker` (and of `kefu serve`'s own consumer without Redis)",
    ),
    _S(
        "KEFU_SECRET_KEY",
        "secret",
        "",
        "Django secret key, also seals staff TOTP seeds; empty: generated once into the data dir",
        secret=True,
    ),
    _S(
        "KEFU_SECRET_KEY_FALLBACKS",
        "list",
        "",
        "old secret keys after a rotation (comma-separated)",
        secret=True,
    ),
    _S("KEFU_DEBUG", "bool", "off", "Django debug mode (never in production)"),
    _S(
        "KEFU_ALLOWED_HOSTS",
        "list",
        "127.0.0.1,localhost,testserver,[::1]",
        "host names this server answers to (comma-separated)",
    ),
    _S(
        "KEFU_CSRF_TRUSTED_ORIGINS",
        "list",
        "",
        "origins trusted for forms behind a proxy, e.g. `https://support.example`",
    ),
    _S(
        "KEFU_BASE_URL",
        "url",
        "http://127.0.0.1:8000",
        "the public address, used in mails and links",
        choices=("http", "https"),
    ),
    _S("KEFU_BRAND_NAME", "str", "Lumen Wallet", "the brand shown to customers"),
    _S(
        "KEFU_SUPPORT_EMAIL",
        "str",
        "support@lumenwallet.example",
        "the support address (sender and Reply-To of mail)",
        validator=_email,
    ),
    _S("KEFU_TIME_ZONE", "timezone", "Asia/Shanghai", "time zone for case numbers and display"),
    _S(
        "KEFU_LOG_LEVEL",
        "str",
        "INFO",
        "log level of the console log",
        choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    ),
    _S("KEFU_SESSION_SECONDS", "int", "43200", "sign-in session lifetime in seconds"),
    _S("KEFU_MEDIA_ROOT", "path", "", "where uploads are stored; empty: `uploads` in the data dir"),
    _S(
        "KEFU_FILE_STORAGE",
        "str",
        "local",
        "where attachments, recordings and exports are kept: `local` (KEFU_MEDIA_ROOT) or `s3` "
        "(an S3-compatible object store shared by several machines; needs the `s3` extra)",
        choices=("local", "s3"),
    ),
    _S("KEFU_S3_BUCKET", "str", "", "the bucket (KEFU_FILE_STORAGE=s3)"),
    _S(
        "KEFU_S3_ENDPOINT_URL",
        "url",
        "",
        "the object store's endpoint, e.g. a MinIO or Ceph server; empty: AWS's for the region",
        choices=("http", "https"),
    ),
    _S("KEFU_S3_REGION", "str", "", "the bucket's region; empty: the library's default"),
    _S("KEFU_S3_ACCESS_KEY_ID", "str", "", "access key id; empty: the machine's own credentials"),
    _S("KEFU_S3_SECRET_ACCESS_KEY", "secret", "", "secret access key", secret=True),
    _S("KEFU_S3_PREFIX", "str", "kefu", "key prefix for Kefu's files inside the bucket"),
    _S(
        "KEFU_S3_DOWNLOADS",
        "str",
        "stream",
        "after the permission check, `stream` files through Kefu or `redirect` to a short-lived "
        "signed URL (the store must be reachable by browsers)",
        choices=("stream", "redirect"),
    ),
    _S(
        "KEFU_S3_SIGNED_URL_SECONDS",
        "int",
        "60",
        "lifetime of a signed download URL (KEFU_S3_DOWNLOADS=redirect)",
    ),
    _S("KEFU_ATTACHMENT_MAX_BYTES", "int", "10485760", "per-file upload limit in bytes"),
    _S("KEFU_ATTACHMENTS_PER_MESSAGE", "int", "5", "attachments one message may carry"),
    _S("KEFU_PAGE_SIZE", "int", "25", "rows per page of ticket lists"),
    _S(
        "KEFU_MODEL_CACHE", "path", "", "where trained bot models are cached; empty: `models` in the data dir"
    ),
    # HTTPS and proxies
    _S(
        "KEFU_SECURE_COOKIES",
        "bool",
        "off",
        "session, CSRF and device cookies only over HTTPS (docs/deploy.md)",
    ),
    _S("KEFU_HSTS_SECONDS", "int", "0", "Strict-Transport-Security max-age on HTTPS responses"),
    _S("KEFU_HSTS_INCLUDE_SUBDOMAINS", "bool", "off", "HSTS covers subdomains too"),
    _S(
        "KEFU_PROXY_SSL_HEADER",
        "str",
        "",
        "e.g. `X-Forwarded-Proto`: the TLS proxy's header that marks a request as HTTPS",
    ),
    _S(
        "KEFU_TRUSTED_PROXIES",
        "networks",
        "",
        "your reverse proxies (IPs/CIDRs); only behind them is `X-Forwarded-For` read",
    ),
    # Limits
    _S(
        "KEFU_LOGIN_RATE",
        "rate",
        "10/300",
        "sign-in failures per account and client before back-off (count/seconds)",
    ),
    _S(
        "KEFU_LOGIN_ACCOUNT_RATE",
        "rate",
        "30/900",
        "sign-in failures per account from unknown clients before back-off",
    ),
    _S("KEFU_LOGIN_IP_RATE", "rate", "100/900", "sign-in failures per IP across accounts before back-off"),
    _S("KEFU_TOTP_RATE", "rate", "5/300", "staff 2FA code failures per account and client before back-off"),
    _S(
        "KEFU_TICKET_CREATE_RATE",
        "rate",
        "10/600",
        "tickets one customer may create per seconds (staff unlimited)",
    ),
    _S("KEFU_TICKET_REPLY_RATE", "rate", "60/600", "ticket replies one customer may send per seconds"),
    _S("KEFU_CHAT_START_RATE", "rate", "10/600", "chats one customer may start per seconds"),
    _S("KEFU_CHAT_MESSAGE_RATE", "rate", "60/60", "chat messages one customer may send per seconds"),
    _S("KEFU_CREATE_IP_FACTOR", "int", "5", "per client IP, the creation limits above times this"),
    _S("KEFU_BOT_RATE", "rate_pair", "30/60", "bot messages per user or IP per seconds"),
    _S(
        "KEFU_BOT_LLM_URL",
        "url",
        "",
        "optional OpenAI-compatible API (`…/v1`) that only rephrases grounded bot replies; empty: off",
        choices=("http", "https"),
    ),
    _S("KEFU_BOT_LLM_MODEL", "str", "", "model name sent to `KEFU_BOT_LLM_URL`"),
    _S("KEFU_BOT_LLM_API_KEY", "secret", "", "bearer token for `KEFU_BOT_LLM_URL`", secret=True),
    _S("KEFU_BOT_LLM_TIMEOUT", "float", "3", "seconds to wait for the LLM before the reply goes out as written"),
    _S(
        "KEFU_BOT_IDLE_CLOSE_HOURS",
        "float",
        "24",
        "hours of silence after which a conversation still with the bot is closed (0: never)",
    ),
    # Staff security
    _S(
        "KEFU_STAFF_2FA_REQUIRED",
        "str",
        "admin",
        "who must use two-factor sign-in: `admin` (admins) or `staff` (every agent too)",
        choices=("admin", "staff"),
    ),
    _S("KEFU_STAFF_IDLE_SECONDS", "int", "1800", "staff sessions end after this many idle seconds"),
    # Mail
    _S(
        "KEFU_EMAIL_URL",
        "url",
        "",
        "outbound SMTP, e.g. `smtp+tls://user:pass@mail.example:587`; empty: mail printed to the console, no ticket mail",
        secret=True,
        choices=("smtp", "smtp+tls", "smtps", "console"),
    ),
    _S("KEFU_EMAIL_FROM", "str", "", "From of outgoing mail; empty: `BRAND <KEFU_SUPPORT_EMAIL>`"),
    _S(
        "KEFU_SMTP_LISTEN",
        "hostport",
        "",
        "inbound SMTP receiver `host:port` inside `kefu serve`; empty: none",
    ),
    _S(
        "KEFU_SMTP_HOSTNAME",
        "str",
        "",
        "the name the SMTP receiver greets with; empty: the support address's domain",
    ),
    _S(
        "KEFU_IMAP_URL",
        "url",
        "",
        "an IMAP mailbox to poll, `imaps://user:pass@host:993/INBOX`; empty: none",
        secret=True,
        choices=("imap", "imaps", "imap+tls"),
    ),
    _S("KEFU_IMAP_INTERVAL", "float", "60", "seconds between IMAP polls"),
    _S("KEFU_MAIL_MAX_BYTES", "int", "26214400", "largest mail accepted (SMTP SIZE and IMAP fetch limit)"),
    _S(
        "KEFU_MAIL_SENDER_RATE",
        "rate",
        "20/3600",
        "mails per sender per seconds before further ones are ignored as a loop",
    ),
    _S(
        "KEFU_MAIL_INBOUND_ADDRESSES",
        "list",
        "",
        "recipients the SMTP receiver accepts (comma-separated); empty: the support address",
    ),
    _S(
        "KEFU_MAIL_NOTIFICATIONS",
        "bool",
        "",
        "queue acknowledgements and replies to customers; empty: exactly when KEFU_EMAIL_URL is set",
    ),
    _S("KEFU_MAIL_MAX_ATTEMPTS", "int", "8", "attempts before a mail is marked failed for an admin to retry"),
    _S("KEFU_MAIL_RETRY_SECONDS", "int", "30", "first retry delay of a failed mail (doubling)"),
    _S(
        "KEFU_MAIL_WORKER_INTERVAL",
        "float",
        "15",
        "seconds between sweeps of pending inbound mail and the outbox",
    ),
    # Service levels
    _S(
        "KEFU_SLA_WARN_FRACTION",
        "float",
        "0.75",
        "warn the assignee when this share of an SLA target's time has passed (0: no warnings)",
    ),
    _S("KEFU_SLA_SWEEP_SECONDS", "float", "30", "seconds between sweeps of due SLA timers (warnings, breaches)"),
    _S("KEFU_SLA_SWEEP_BATCH", "int", "1000", "SLA timers one sweep transaction handles at most"),
    _S(
        "KEFU_CALENDAR_WARN_DAYS",
        "int",
        "60",
        "warn admins this many days before the year ends when next year's official holidays are missing",
    ),
    # Reports (kefu/reports, docs/reports.md)
    _S(
        "KEFU_REPORTS_PHONE_ANSWER_SECONDS",
        "int",
        "20",
        "the phone report's service level: share of queued calls answered within this many seconds",
    ),
    # Outgoing webhooks (kefu/webhooks, docs/webhooks.md)
    _S(
        "KEFU_WEBHOOKS_ALLOW_PRIVATE",
        "bool",
        "0",
        "allow webhook endpoints on private, loopback, link-local or reserved addresses (local development only)",
    ),
    _S("KEFU_WEBHOOKS_TIMEOUT", "float", "10", "seconds per webhook delivery attempt (connect and response)"),
    _S(
        "KEFU_WEBHOOKS_RETRY_SECONDS",
        "int",
        "30",
        "first retry delay of a failed webhook delivery (doubling, at most 6 h)",
    ),
    _S(
        "KEFU_WEBHOOKS_MAX_ATTEMPTS",
        "int",
        "20",
        "attempts before a webhook delivery is marked failed (replayable by an admin)",
    ),
    _S(
        "KEFU_WEBHOOKS_DISABLE_AFTER",
        "int",
        "50",
        "consecutive failed attempts after which a webhook endpoint is disabled (0: never)",
    ),
    _S(
        "KEFU_WEBHOOKS_SWEEP_SECONDS",
        "float",
        "10",
        "seconds between sweeps of due webhook deliveries (retries)",
    ),
    _S(
        "KEFU_WEBHOOKS_ROTATION_HOURS",
        "int",
        "24",
        "after a secret rotation, deliveries are also signed with the previous secret for this many hours",
    ),
    _S(
        "KEFU_WEBHOOKS_KEEP_DAYS",
        "int",
        "30",
        "delivered and failed webhook deliveries stay in the log this many days (0: forever)",
    ),
    # Telegram (kefu/telegram, docs/channels.md): with a bot token set, a Telegram inbox exists
    _S(
        "KEFU_TELEGRAM_BOT_TOKEN",
        "secret",
        "",
        "the bot's token from @BotFather; empty: Telegram is off",
        secret=True,
    ),
    _S(
        "KEFU_TELEGRAM_WEBHOOK_SECRET",
        "secret",
        "",
        "the secret_token given to setWebhook; `POST /channels/telegram/webhook` refuses requests without it (401)",
        secret=True,
    ),
    _S(
        "KEFU_TELEGRAM_API_URL",
        "url",
        "https://api.telegram.org",
        "base URL of the Bot API: calls go to `{url}/bot{token}/sendMessage` etc. (a local Bot API server, tests)",
        choices=("http", "https"),
    ),
    _S(
        "KEFU_TELEGRAM_POLL_SECONDS",
        "float",
        "2",
        "without a webhook secret (no public URL), `kefu serve` polls getUpdates this often; 0: never",
    ),
    _S(
        "KEFU_TELEGRAM_GROUP_ID",
        "str",
        "",
        "the community group's chat id: the bot answers mentions there and moves account topics to a private chat",
    ),
    # Live chat
    _S(
        "KEFU_CHAT_OFFER_AFTER_SECONDS",
        "int",
        "600",
        "offer a ticket or call-back when the estimated wait exceeds this",
    ),
    _S("KEFU_CHAT_IDLE_REMIND_SECONDS", "int", "300", "remind a customer silent this long in an active chat"),
    _S("KEFU_CHAT_IDLE_CLOSE_SECONDS", "int", "300", "close the chat this long after the reminder"),
    _S(
        "KEFU_CHAT_ABANDON_SECONDS",
        "int",
        "180",
        "a queued customer with no connection this long has left the queue",
    ),
    _S("KEFU_CHAT_AGENT_STALE_SECONDS", "int", "90", "an agent without heartbeats this long goes offline"),
    _S(
        "KEFU_CHAT_REQUEUE_AFTER_SECONDS",
        "int",
        "180",
        "an offline agent's chats return to the queue after this long",
    ),
    _S("KEFU_CHAT_DEFAULT_CAPACITY", "int", "3", "concurrent chats of an agent who never set a capacity"),
    _S(
        "KEFU_CHAT_DEFAULT_HANDLE_SECONDS",
        "int",
        "420",
        "handling time assumed until enough chats are measured",
    ),
    _S(
        "KEFU_CHAT_HANDLE_WINDOW_SECONDS",
        "int",
        "14400",
        "handling times are measured over chats closed within this window",
    ),
    _S("KEFU_CHAT_HANDLE_SAMPLE", "int", "100", "at most this many recent chats measure handling time"),
    _S(
        "KEFU_CHAT_SWEEP_SECONDS",
        "float",
        "15",
        "period of the chat sweep (idle reminders, abandoned queues, backlog dispatch)",
    ),
    _S("KEFU_CHAT_CSAT_DAYS", "int", "14", "a satisfaction survey link stays valid this many days"),
    # WhatsApp Business Cloud API (docs/channels.md): with these set, a WhatsApp inbox exists
    _S(
        "KEFU_WHATSAPP_VERIFY_TOKEN",
        "secret",
        "",
        "the token Meta echoes on `GET /channels/whatsapp/webhook` (hub.verify_token); empty: WhatsApp off",
        secret=True,
    ),
    _S(
        "KEFU_WHATSAPP_APP_SECRET",
        "secret",
        "",
        "the Meta app secret: every webhook POST's `X-Hub-Signature-256` is checked with it",
        secret=True,
    ),
    _S("KEFU_WHATSAPP_ACCESS_TOKEN", "secret", "", "bearer token for the WhatsApp Cloud API", secret=True),
    _S("KEFU_WHATSAPP_PHONE_NUMBER_ID", "str", "", "the WhatsApp business phone number id messages are sent from"),
    _S(
        "KEFU_WHATSAPP_API_URL",
        "url",
        "https://graph.facebook.com/v21.0",
        "base URL of the Graph API (tests point it at a local server)",
        choices=("http", "https"),
    ),
    _S("KEFU_WHATSAPP_TIMEOUT", "float", "10", "seconds per WhatsApp Cloud API request"),
    _S(
        "KEFU_WHATSAPP_MAX_MEDIA_BYTES",
        "int",
        "10485760",
        "largest customer photo or document fetched from WhatsApp; larger ones are skipped with a note",
    ),
    # Identity verification
    _S("KEFU_IDENTITY_CODE_LENGTH", "int", "6", "digits of a verification code: 6 or 8", choices=("6", "8")),
    _S("KEFU_IDENTITY_CODE_TTL", "int", "600", "seconds a verification code stays valid"),
    _S("KEFU_IDENTITY_SEND_RATE_ACCOUNT", "rate", "5/3600", "verification codes per account per seconds"),
    _S("KEFU_IDENTITY_SEND_RATE_IP", "rate", "20/3600", "verification codes per client IP per seconds"),
    _S("KEFU_IDENTITY_MAX_FAILURES", "int", "5", "wrong codes before the account's verification locks"),
    _S("KEFU_IDENTITY_LOCKOUT_SECONDS", "int", "900", "first verification lockout (doubling)"),
    _S("KEFU_IDENTITY_LOCKOUT_MAX_SECONDS", "int", "86400", "longest verification lockout"),
    _S(
        "KEFU_IDENTITY_VERIFIED_SECONDS",
        "int",
        "3600",
        "how long a verification lets agents act on the account",
    ),
    _S(
        "KEFU_IDENTITY_FREEZE_MAX_AGE",
        "int",
        "600",
        "how fresh a verification must be for a self-service freeze",
    ),
    _S("KEFU_IDENTITY_EMAIL_FROM", "str", "", "sender of code mails; empty: the mail From"),
    _S(
        "KEFU_IDENTITY_JWT_SECRET",
        "secret",
        "",
        "HS256 key of signed identity tokens from the wallet app",
        secret=True,
    ),
    _S(
        "KEFU_IDENTITY_JWT_PUBLIC_KEY",
        "str",
        "",
        "ES256 public key (PEM, `\\n` escapes allowed) of signed identity tokens",
    ),
    _S("KEFU_IDENTITY_JWT_AUDIENCE", "str", "kefu", "required `aud` of identity tokens"),
    _S("KEFU_IDENTITY_JWT_ISSUER", "str", "", "required `iss` of identity tokens; empty: any"),
    _S("KEFU_IDENTITY_JWT_LEEWAY", "int", "30", "clock skew allowed on identity tokens, seconds"),
    _S("KEFU_IDENTITY_JWT_MAX_LIFETIME", "int", "3600", "identity tokens valid longer than this are refused"),
    _S("KEFU_PHONE_REGION", "str", "CN", "region for phone numbers written without a country code"),
    _S(
        "KEFU_SMS_URL",
        "url",
        "",
        "SMS provider endpoint for verification codes; empty: no SMS",
        choices=("http", "https"),
    ),
    _S("KEFU_SMS_ACCOUNT", "str", "", "SMS provider account"),
    _S("KEFU_SMS_TOKEN", "secret", "", "SMS provider token", secret=True),
    _S("KEFU_SMS_FROM", "str", "", "SMS sender id or number"),
    _S("KEFU_SMS_TIMEOUT", "float", "10", "seconds per SMS provider request"),
    # The phone hotline (kefu/phone, docs/phone.md)
    _S(
        "KEFU_PUBLIC_URL",
        "url",
        "",
        "the base URL the telephony provider calls; webhook signatures are checked over it; empty: `KEFU_BASE_URL`",
        choices=("http", "https"),
    ),
    _S("KEFU_TWILIO_ACCOUNT_SID", "str", "", "the telephony provider's account SID (Twilio `AC...`)"),
    _S(
        "KEFU_TWILIO_AUTH_TOKEN",
        "secret",
        "",
        "the provider's auth token: signs its webhooks and authenticates Kefu's API calls; empty: the hotline is off",
        secret=True,
    ),
    _S(
        "KEFU_TWILIO_API_URL",
        "url",
        "https://api.twilio.com",
        "the provider's REST API (SMS and call-backs); SignalWire's or a test server's address",
        choices=("http", "https"),
    ),
    _S("KEFU_PHONE_NUMBER", "str", "", "the hotline's number in E.164, caller id of its SMS and call-backs"),
    _S(
        "KEFU_PHONE_PROVIDER",
        "str",
        "twilio",
        "whose webhooks the hotline answers: `twilio` (SignalWire too) or `telnyx` (TeXML, Ed25519-signed)",
        choices=("twilio", "telnyx"),
    ),
    _S(
        "KEFU_TELNYX_PUBLIC_KEY",
        "str",
        "",
        "Telnyx's webhook public key (base64, portal → Keys & Credentials); empty: Telnyx webhooks get 403",
    ),
    _S("KEFU_TELNYX_API_KEY", "secret", "", "Telnyx API key: texts and agent/call-back calls", secret=True),
    _S("KEFU_TELNYX_APPLICATION_ID", "str", "", "the TeXML application's id: outbound calls use it"),
    _S(
        "KEFU_TELNYX_API_URL",
        "url",
        "https://api.telnyx.com",
        "Telnyx's REST API (texts and calls); a test server's address",
        choices=("http", "https"),
    ),
    _S(
        "KEFU_PHONE_RECORD_CALLS",
        "bool",
        "0",
        "record the conversation with the agent (from the bridge: never the menus or keyed codes); its link goes on the case",
    ),
    # Wallet
    _S(
        "KEFU_WALLET_BACKEND",
        "str",
        "demo",
        "the wallet backend: `demo`, `http` (the wallet-backend API) or a dotted class path (docs/wallet.md)",
    ),
    _S(
        "KEFU_WALLET_API_URL",
        "url",
        "",
        "base URL of the operator's wallet-backend API (with `KEFU_WALLET_BACKEND=http`)",
        choices=("http", "https"),
    ),
    _S("KEFU_WALLET_API_TOKEN", "secret", "", "bearer token for the wallet-backend API", secret=True),
    _S("KEFU_WALLET_API_TIMEOUT", "float", "5", "seconds per wallet-backend API request"),
    _S(
        "KEFU_WALLET_DEMO_FILE",
        "path",
        "",
        "the demo backend's JSON file; empty: `wallet-demo.json` in the data dir",
    ),
    _S(
        "KEFU_WALLET_RECORDS",
        "str",
        "",
        "dotted class path of the deposit/withdrawal records; empty: the backend's, else demo",
    ),
    _S(
        "KEFU_CHAIN_URLS",
        "mapping",
        "",
        "chain node URLs, `chain=url,...`; overrides the per-chain variables below",
        secret=True,
    ),
    _S("KEFU_ETH_RPC_URL", "url", "", "Ethereum JSON-RPC node for the diagnosis", secret=True),
    _S("KEFU_BSC_RPC_URL", "url", "", "BSC JSON-RPC node", secret=True),
    _S("KEFU_POLYGON_RPC_URL", "url", "", "Polygon JSON-RPC node", secret=True),
    _S("KEFU_ARBITRUM_RPC_URL", "url", "", "Arbitrum JSON-RPC node", secret=True),
    _S("KEFU_OPTIMISM_RPC_URL", "url", "", "Optimism JSON-RPC node", secret=True),
    _S("KEFU_BTC_ESPLORA_URL", "url", "", "Bitcoin Esplora API", secret=True),
    _S(
        "KEFU_CHAIN_CONFIRMATIONS",
        "mapping",
        "",
        "confirmations per chain, `ethereum=12,...`; missing chains keep their own",
        choices=("int",),
    ),
    _S("KEFU_CHAIN_TIMEOUT", "float", "5", "seconds per chain node request"),
    _S("KEFU_CHAIN_RETRIES", "int", "3", "attempts per chain node request"),
    _S("KEFU_CHAIN_BACKOFF", "float", "0.5", "first retry delay of a chain node request (doubling)"),
    _S("KEFU_CHAIN_CACHE_PENDING", "int", "15", "seconds a lookup that can still change is cached"),
    _S("KEFU_CHAIN_CACHE_FINAL", "int", "300", "seconds a final lookup is cached"),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

# Variables the test suite and benchmarks read (never the application): known, so not flagged.
HARNESS = {
    "KEFU_TEST_REDIS_URL": "Redis for tests that need one",
    "KEFU_REQUIRE_BROWSER": "fail, not skip, browser tests when Chromium is missing",
    "KEFU_REQUIRE_DOVECOT": "fail, not skip, IMAP tests when Dovecot is missing",
    "KEFU_SCREENSHOTS": "where browser tests save screenshots",
}


# --- reading the environment ------------------------------------------------------------------


def default_for_process(name: str, value: str, *, replace: bool = False) -> None:
    """Give a registered setting ``value`` in this process and the processes it starts (uvicorn's
    workers, a benchmark's servers), unless the environment sets it already (or ``replace``).

    The one way Kefu code writes a setting: ``kefu serve`` makes ``KEFU_BASE_URL`` name the port
    it really listens on. The value is checked like any other, before Django reads it.
    """
    import os

    value_of(BY_NAME[name], value)  # an unknown name is a KeyError, a malformed value InvalidValue
    if replace or not os.environ.get(name, "").strip():
        os.environ[name] = value



def raw(setting: Setting, environ: Mapping[str, str]) -> tuple[str, str]:
    """The text in force and where it comes from: ``("…", "env")`` or ``(default, "default")``.

    An empty variable counts as unset, as most deploy tools write unset ones that way.
    """
    text = environ.get(setting.name, "")
    if text.strip():
        return text, "env"
    return setting.default, "default"


def _complaint(setting: Setting, text: str, why: str) -> str:
    shown = MASK if setting.secret else text
    return f'{setting.name}: "{shown}" {why}'


def value_of(setting: Setting, text: str) -> Any:
    """The parsed value; raises :class:`InvalidValue` carrying the one line to print."""
    try:
        value = setting.parse(text)
    except InvalidValue as exc:
        raise InvalidValue(_complaint(setting, text, str(exc))) from None
    if setting.validator is not None and text.strip() and (why := setting.validator(value)):
        raise InvalidValue(_complaint(setting, text, why))
    return value


def load(environ: Mapping[str, str]) -> dict[str, Any]:
    """Every registered setting's value; a malformed one raises ImproperlyConfigured naming it."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        try:
            values[setting.name] = value_of(setting, raw(setting, environ)[0])
        except InvalidValue as exc:
            raise ImproperlyConfigured(str(exc)) from None
    return values


def env_value(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting's value straight from the environment, for code that runs without Django
    settings (the ``kefu`` command before it sets Django up); everything else reads settings."""
    import os

    setting = BY_NAME[name]
    try:
        return value_of(setting, raw(setting, os.environ if environ is None else environ)[0])
    except InvalidValue as exc:
        raise ImproperlyConfigured(str(exc)) from None


@dataclass(frozen=True)
class Problem:
    name: str
    message: str  # one line, starting with the variable's name
    severe: bool = True  # False: worth a warning, not a refusal


def unknown_variables(environ: Iterable[str]) -> list[Problem]:
    problems = []
    known = [*BY_NAME, *HARNESS]
    for name in sorted(environ):
        if name.startswith("KEFU_") and name not in BY_NAME and name not in HARNESS:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(Problem(name, f"{name}: unknown setting{hint}"))
    return problems


def invalid_values(environ: Mapping[str, str]) -> tuple[list[Problem], dict[str, Any]]:
    """Every malformed value (not only the first), and the values of the others."""
    problems, values = [], {}
    for setting in SETTINGS:
        try:
            values[setting.name] = value_of(setting, raw(setting, environ)[0])
        except InvalidValue as exc:
            problems.append(Problem(setting.name, str(exc)))
            values[setting.name] = value_of(setting, setting.default)
    return problems, values


_LOCAL_HOSTS = {"127.0.0.1", "localhost", "testserver", "[::1]", "::1"}


def dangerous_combinations(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[Problem]:
    """Settings that are each valid but together unsafe in production."""
    problems = []
    public = [h for h in values["KEFU_ALLOWED_HOSTS"] if h not in _LOCAL_HOSTS]
    if values["KEFU_DEBUG"] and public:
        problems.append(
            Problem(
                "KEFU_DEBUG",
                f"KEFU_DEBUG: debug mode is on while KEFU_ALLOWED_HOSTS serves public hosts ({', '.join(public)}); it shows settings and code to visitors",
            )
        )
    database = str(values["KEFU_DATABASE_URL"] or "")
    if database.startswith(("postgres", "pgsql")) and sources.get("KEFU_SECRET_KEY") != "env":
        problems.append(
            Problem(
                "KEFU_SECRET_KEY",
                "KEFU_SECRET_KEY: not set while KEFU_DATABASE_URL is PostgreSQL; a key generated into one machine's data dir differs between machines and is lost with it",
            )
        )
    base = str(values["KEFU_BASE_URL"])
    if base.startswith("https://") and not values["KEFU_SECURE_COOKIES"]:
        problems.append(
            Problem(
                "KEFU_SECURE_COOKIES",
                "KEFU_SECURE_COOKIES: off while KEFU_BASE_URL is https; session cookies would also travel over plain HTTP",
            )
        )
    if values["KEFU_HSTS_SECONDS"] and not base.startswith("https://"):
        problems.append(
            Problem(
                "KEFU_HSTS_SECONDS", "KEFU_HSTS_SECONDS: set while KEFU_BASE_URL is not https", severe=False
            )
        )
    secret = str(values["KEFU_SECRET_KEY"] or "")
    if secret and len(secret) < 32:
        problems.append(
            Problem("KEFU_SECRET_KEY", "KEFU_SECRET_KEY: shorter than 32 characters; use a long random value")
        )
    backend = str(values["KEFU_WALLET_BACKEND"])
    if (
        backend in {"http", "kefu.wallet.http_backend.HttpWalletBackend"}
        and not values["KEFU_WALLET_API_URL"]
    ):
        problems.append(
            Problem(
                "KEFU_WALLET_API_URL",
                "KEFU_WALLET_API_URL: not set while KEFU_WALLET_BACKEND is the HTTP backend",
            )
        )
    if values["KEFU_SMS_URL"] and not values["KEFU_SMS_TOKEN"]:
        problems.append(
            Problem("KEFU_SMS_TOKEN", "KEFU_SMS_TOKEN: not set while KEFU_SMS_URL is", severe=False)
        )
    if values["KEFU_WEBHOOKS_ALLOW_PRIVATE"] and base.startswith("https://"):
        problems.append(
            Problem(
                "KEFU_WEBHOOKS_ALLOW_PRIVATE",
                "KEFU_WEBHOOKS_ALLOW_PRIVATE: on while KEFU_BASE_URL is https; an admin's webhook URL could reach this server's own network",
                severe=False,
            )
        )
    if float(values["KEFU_WEBHOOKS_TIMEOUT"] or 0) >= float(values["KEFU_WEBHOOKS_RETRY_SECONDS"] or 0):
        problems.append(
            Problem(
                "KEFU_WEBHOOKS_TIMEOUT",
                "KEFU_WEBHOOKS_TIMEOUT: not below KEFU_WEBHOOKS_RETRY_SECONDS; a slow receiver may get the same delivery twice",
                severe=False,
            )
        )
    return problems


def sources(environ: Mapping[str, str]) -> dict[str, str]:
    return {s.name: raw(s, environ)[1] for s in SETTINGS}


def check(environ: Mapping[str, str]) -> list[Problem]:
    """Everything ``kefu config check`` reports for this environment."""
    invalid, values = invalid_values(environ)
    return [*unknown_variables(environ), *invalid, *dangerous_combinations(values, sources(environ))]


def show(environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every setting, its text in force (secrets masked) and its source."""
    rows = []
    for setting in SETTINGS:
        text, source = raw(setting, environ)
        shown = MASK if setting.secret and text else text
        rows.append({"name": setting.name, "value": shown, "source": source, "secret": setting.secret})
    return rows


def docs_table() -> str:
    """The README's configuration table."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for setting in SETTINGS:
        default = f"`{setting.default}`" if setting.default else "empty"
        doc = setting.doc + (" (secret)" if setting.secret else "")
        lines.append(f"| `{setting.name}` | {default} | {doc.replace('|', '/')} |")
    return "\n".join(lines) + "\n"
