"""Django settings for Kefu, read from the environment.

Defaults need nothing installed: SQLite under the data directory, an in-process channel
layer and a local-memory cache. Set ``KEFU_DATABASE_URL`` and ``KEFU_REDIS_URL`` to scale out.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("KEFU_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = _env_bool("KEFU_DEBUG", False)


def _secret_key() -> str:
    """The secret key from the environment, or one generated once and kept in the data dir."""
    if key := os.environ.get("KEFU_SECRET_KEY"):
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Rotating the key: the old one goes here, so sessions, signed links and sealed staff TOTP
# seeds made under it still open (seeds are re-sealed under the new key at re-enrolment).
SECRET_KEY_FALLBACKS = _env_list("KEFU_SECRET_KEY_FALLBACKS", "")
ALLOWED_HOSTS = _env_list("KEFU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = _env_list("KEFU_CSRF_TRUSTED_ORIGINS", "")

KEFU_BRAND_NAME = os.environ.get("KEFU_BRAND_NAME", "Lumen Wallet")
KEFU_SUPPORT_EMAIL = os.environ.get("KEFU_SUPPORT_EMAIL", "support@lumenwallet.example")
KEFU_BASE_URL = os.environ.get("KEFU_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "kefu.accounts",
    "kefu.audit",
    "kefu.tickets",
    "kefu.helpcenter",
    "kefu.bot",
    "kefu.trust",
    "kefu.identity",
    "kefu.wallet",
    "kefu.mail",
    "kefu.chat",
    "kefu.jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kefu.csp.ContentSecurityPolicyMiddleware",
    # NUL in paths, query strings and form fields; HEAD answered wherever GET is (kefu.inputs).
    "kefu.inputs.boundary_middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kefu.accounts.throttle.DeviceCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "kefu.identity.middleware.StaffSessionTimeoutMiddleware",
    "kefu.identity.middleware.StaffTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kefu.urls"
ASGI_APPLICATION = "kefu.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kefu.context_processors.brand",
                "kefu.csp.context",
                "kefu.context_processors.chat_panel",
            ],
        },
    },
]

_database_url = os.environ.get("KEFU_DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _env_bool("KEFU_DATABASE_POOL", True):
        # Under ASGI each request runs in its own thread context, so Django's persistent
        # connections are not reused: every page opened a new PostgreSQL connection (~10 ms of
        # start-up and authentication) and left it idle until CONN_MAX_AGE. A psycopg pool lends
        # an open connection per request instead, and keeps its prepared statements.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": int(os.environ.get("KEFU_DATABASE_POOL_SIZE", "16")),
            "timeout": 20,
        }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Parameters travel separately from the SQL, so psycopg prepares a statement the fifth
        # time it runs on a connection and PostgreSQL stops re-planning it (the ticket lookup
        # alone plans in ~1.3 ms over its partial indexes). Behind a transaction-pooling
        # PgBouncer, set KEFU_DATABASE_SERVER_SIDE_BINDING=0.
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = _env_bool(
            "KEFU_DATABASE_SERVER_SIDE_BINDING", True
        )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "kefu.sqlite3",
            "OPTIONS": {
                # WAL lets readers proceed while one writer commits; IMMEDIATE avoids
                # lock-upgrade deadlocks between concurrent writers.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("KEFU_REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # Redis pub/sub: one PUBLISH per group event, deliveries pushed to each server process. The
    # core layer's at-least-once queues cost three round trips per delivered event and fell
    # behind at a few hundred chat messages a second; a lost event is repaired from the
    # database anyway (message numbers, history on reconnect, the agents' reconcile).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Kefu's in-memory layer: the stock one rescans every connection per message and drops
    # events past 100 queued ones.
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "kefu.chat.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }

AUTH_USER_MODEL = "accounts.User"
# Password checks go through the sign-in limiter (kefu.accounts.throttle): EmailBackend answers
# every one itself (a wrong or refused password raises PermissionDenied, which ends the search,
# so no later backend re-checks it). ModelBackend stays listed only so that sessions signed in
# under it before stay valid.
AUTHENTICATION_BACKENDS = ["kefu.accounts.backends.EmailBackend", "django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
SESSION_COOKIE_AGE = int(os.environ.get("KEFU_SESSION_SECONDS", 60 * 60 * 12))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind HTTPS (docs/deploy.md). Secure cookies travel only over HTTPS (the session, CSRF and
# device cookies); HSTS tells browsers to use nothing else for this host for that many seconds.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_bool("KEFU_SECURE_COOKIES", False)
SECURE_HSTS_SECONDS = int(os.environ.get("KEFU_HSTS_SECONDS", 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("KEFU_HSTS_INCLUDE_SUBDOMAINS", False)
# The header a TLS-terminating proxy sets to "https" (e.g. X-Forwarded-Proto): only then is a
# request it forwards treated as secure. Unset, request.is_secure() is the connection's own.
KEFU_PROXY_SSL_HEADER = os.environ.get("KEFU_PROXY_SSL_HEADER", "").strip()
if KEFU_PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + KEFU_PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("KEFU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from finders; it only needs the folder
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Uploaded evidence lives outside any web root and is only served through a permission check.
MEDIA_ROOT = Path(os.environ.get("KEFU_MEDIA_ROOT", DATA_DIR / "uploads"))
KEFU_ATTACHMENT_MAX_BYTES = int(os.environ.get("KEFU_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
KEFU_ATTACHMENTS_PER_MESSAGE = 5
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

KEFU_PAGE_SIZE = 25
KEFU_BOT_RATE = (30, 60)  # messages per seconds, per user or IP
# Sign-in limiter (kefu.accounts.throttle): "failures/seconds" before back-off starts, the back-off
# doubling up to the seconds. Per account and client (device cookie or IP); per account from
# untrusted clients only; per client IP across accounts (high: NATs share addresses).
KEFU_LOGIN_RATE = os.environ.get("KEFU_LOGIN_RATE", "10/300")
KEFU_LOGIN_ACCOUNT_RATE = os.environ.get("KEFU_LOGIN_ACCOUNT_RATE", "30/900")
KEFU_LOGIN_IP_RATE = os.environ.get("KEFU_LOGIN_IP_RATE", "100/900")
KEFU_TOTP_RATE = os.environ.get("KEFU_TOTP_RATE", "5/300")
# What one customer may create ("count/seconds"), kefu.accounts.ratelimit.check_creation; per
# client IP KEFU_CREATE_IP_FACTOR times as much. Staff are not limited.
KEFU_TICKET_CREATE_RATE = os.environ.get("KEFU_TICKET_CREATE_RATE", "10/600")
KEFU_TICKET_REPLY_RATE = os.environ.get("KEFU_TICKET_REPLY_RATE", "60/600")
KEFU_CHAT_START_RATE = os.environ.get("KEFU_CHAT_START_RATE", "10/600")
KEFU_CHAT_MESSAGE_RATE = os.environ.get("KEFU_CHAT_MESSAGE_RATE", "60/60")
KEFU_CREATE_IP_FACTOR = int(os.environ.get("KEFU_CREATE_IP_FACTOR", 5))
# Staff two-factor sign-in: "admin" (admins must enrol) or "staff" (every agent must too).
KEFU_STAFF_2FA_REQUIRED = os.environ.get("KEFU_STAFF_2FA_REQUIRED", "admin")
# Our own reverse proxies (comma-separated IPs or CIDRs): only behind them is X-Forwarded-For
# read, its rightmost address that is not one of them taken as the client (kefu.clientip).
KEFU_TRUSTED_PROXIES = os.environ.get("KEFU_TRUSTED_PROXIES", "")

# Mail: KEFU_EMAIL_URL=smtp+tls://user:pass@host:587 (smtps:// for SSL) sends ticket mail.
# Unset, nothing is queued for customers and one-off mail (verification codes) is printed to
# the server console so a demo can read it; set it in production.
from kefu.mail.mailurl import email_backend_settings  # noqa: E402

KEFU_EMAIL_URL = os.environ.get("KEFU_EMAIL_URL", "")
globals().update(email_backend_settings(KEFU_EMAIL_URL or "console://"))
KEFU_SMTP_LISTEN = os.environ.get("KEFU_SMTP_LISTEN", "")  # host:port of the inbound SMTP receiver
KEFU_IMAP_URL = os.environ.get("KEFU_IMAP_URL", "")
KEFU_IMAP_INTERVAL = int(os.environ.get("KEFU_IMAP_INTERVAL", 60))
KEFU_MAIL_MAX_BYTES = int(os.environ.get("KEFU_MAIL_MAX_BYTES", 25 * 1024 * 1024))
KEFU_MAIL_SENDER_RATE = os.environ.get("KEFU_MAIL_SENDER_RATE", "20/3600")
KEFU_MAIL_INBOUND_ADDRESSES = os.environ.get("KEFU_MAIL_INBOUND_ADDRESSES", "")
# Background jobs (kefu.jobs.engine): threads of one `kefu worker` (and of the consumer inside
# `kefu serve` when there is no KEFU_REDIS_URL).
KEFU_WORKER_CONCURRENCY = int(os.environ.get("KEFU_WORKER_CONCURRENCY", 2))
DEFAULT_FROM_EMAIL = os.environ.get("KEFU_EMAIL_FROM", f"{KEFU_BRAND_NAME} <{KEFU_SUPPORT_EMAIL}>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Every line passes the secret guard (kefu.trust.logguard; the trust app also screens each
    # record where it is made, so handlers configured elsewhere are covered too).
    "filters": {"secrets": {"()": "kefu.trust.logguard.SecretFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secrets"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("KEFU_LOG_LEVEL", "INFO")},
    # aiosmtpd logs every SMTP command (with addresses) at INFO.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "mail.log": {"level": "WARNING"},
        # A line per job run (ids only) is noise; the consumer's start and failures stay.
        "huey": {"level": "WARNING"},
        "huey.consumer": {"level": "INFO"},
        # Django's defaults give these their own unscreened handlers (the development server's
        # request lines; a console copy under DEBUG): send them through ours instead.
        "django": {"handlers": [], "level": "INFO"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
