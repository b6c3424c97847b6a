"""Django settings for Kefu, read from the environment.

Defaults need nothing installed: SQLite under the data directory, an in-process channel
layer and a local-memory cache. Set ``KEFU_DATABASE_URL`` and ``KEFU_REDIS_URL`` to scale out.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from kefu import conf as _conf

BASE_DIR = Path(__file__).resolve().parent


# Every KEFU_* setting, declared once in kefu.conf (name, kind, default, doc), is read here and
# nowhere else: each becomes a Django setting of the same name, and a malformed value stops the
# start with ImproperlyConfigured naming it. The Django settings below derive from them.
_k = _conf.load(os.environ)
globals().update(_k)

DATA_DIR = Path(_k["KEFU_DATA_DIR"]).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = _k["KEFU_DEBUG"]


def _secret_key() -> str:
    """The secret key from the environment, or one generated once and kept in the data dir."""
    if key := _k["KEFU_SECRET_KEY"]:
        return str(key)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Rotating the key: the old one goes here, so sessions, signed links and sealed staff TOTP
# seeds made under it still open (seeds are re-sealed under the new key at re-enrolment).
SECRET_KEY_FALLBACKS = _k["KEFU_SECRET_KEY_FALLBACKS"]
ALLOWED_HOSTS = _k["KEFU_ALLOWED_HOSTS"]
CSRF_TRUSTED_ORIGINS = _k["KEFU_CSRF_TRUSTED_ORIGINS"]

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
    "kefu.inbox",
    "kefu.whatsapp",
    "kefu.telegram",
    "kefu.chat",
    "kefu.csat",
    "kefu.jobs",
    "kefu.calendars",
    "kefu.sla",
    "kefu.phone",
    "kefu.webhooks",
    "kefu.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kefu.csp.ContentSecurityPolicyMiddleware",
    # NUL in paths, query strings and form fields; HEAD answered wherever GET is (kefu.inputs).
    "kefu.inputs.boundary_middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # API requests with a bearer token skip the session-only middlewares below (kefu.apilane).
    "kefu.apilane.BearerLaneMiddleware",
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
                "kefu.telegram.context.telegram_link",
            ],
        },
    },
]

if _k["KEFU_DATABASE_URL"]:
    DATABASES = {"default": dj_database_url.parse(_k["KEFU_DATABASE_URL"], conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _k["KEFU_DATABASE_POOL"]:
        # Under ASGI each request runs in its own thread context, so Django's persistent
        # connections are not reused: every page opened a new PostgreSQL connection (~10 ms of
        # start-up and authentication) and left it idle until CONN_MAX_AGE. A psycopg pool lends
        # an open connection per request instead, and keeps its prepared statements.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": _k["KEFU_DATABASE_POOL_SIZE"],
            "timeout": 20,
        }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Parameters travel separately from the SQL, so psycopg prepares a statement the fifth
        # time it runs on a connection and PostgreSQL stops re-planning it (the ticket lookup
        # alone plans in ~1.3 ms over its partial indexes). Behind a transaction-pooling
        # PgBouncer, set KEFU_DATABASE_SERVER_SIDE_BINDING=0.
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = _k[
            "KEFU_DATABASE_SERVER_SIDE_BINDING"
        ]
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "kefu.sqlite3"),
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

REDIS_URL = _k["KEFU_REDIS_URL"] or None
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
SESSION_COOKIE_AGE = _k["KEFU_SESSION_SECONDS"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind HTTPS (docs/deploy.md). Secure cookies travel only over HTTPS (the session, CSRF and
# device cookies); HSTS tells browsers to use nothing else for this host for that many seconds.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _k["KEFU_SECURE_COOKIES"]
SECURE_HSTS_SECONDS = _k["KEFU_HSTS_SECONDS"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = _k["KEFU_HSTS_INCLUDE_SUBDOMAINS"]
# The header a TLS-terminating proxy sets to "https" (e.g. X-Forwarded-Proto): only then is a
# request it forwards treated as secure. Unset, request.is_secure() is the connection's own.
if _k["KEFU_PROXY_SSL_HEADER"]:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _k["KEFU_PROXY_SSL_HEADER"].upper().replace("-", "_"), "https")
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = _k["KEFU_TIME_ZONE"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from finders; it only needs the folder
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Uploaded evidence lives outside any web root and is only served through a permission check.
MEDIA_ROOT = _k["KEFU_MEDIA_ROOT"] or DATA_DIR / "uploads"
# Attachments (and later recordings and exports) go through Django's storage API: this folder by
# default, an S3-compatible object store with KEFU_FILE_STORAGE=s3 (kefu/storage.py).
from kefu.storage import storages_setting  # noqa: E402

STORAGES = storages_setting(_k)
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Mail: KEFU_EMAIL_URL=smtp+tls://user:pass@host:587 (smtps:// for SSL) sends ticket mail.
# Unset, nothing is queued for customers and one-off mail (verification codes) is printed to
# the server console so a demo can read it; set it in production.
from kefu.mail.mailurl import email_backend_settings  # noqa: E402

globals().update(email_backend_settings(_k["KEFU_EMAIL_URL"] or "console://"))
DEFAULT_FROM_EMAIL = _k["KEFU_EMAIL_FROM"] or f"{_k['KEFU_BRAND_NAME']} <{_k['KEFU_SUPPORT_EMAIL']}>"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Every line passes the secret guard (kefu.trust.logguard; the trust app also screens each
    # record where it is made, so handlers configured elsewhere are covered too).
    "filters": {"secrets": {"()": "kefu.trust.logguard.SecretFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secrets"]}},
    "root": {"handlers": ["console"], "level": _k["KEFU_LOG_LEVEL"]},
    # aiosmtpd logs every SMTP command (with addresses) at INFO.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "mail.log": {"level": "WARNING"},
        # A line per job run (ids only) is noise; the consumer's start and failures stay.
        "huey": {"level": "WARNING"},
        "huey.consumer": {"level": "INFO"},
        "huey.consumer.Scheduler": {"level": "WARNING"},  # a line per periodic enqueue, every 15 s
        # Django's defaults give these their own unscreened handlers (the development server's
        # request lines; a console copy under DEBUG): send them through ours instead.
        "django": {"handlers": [], "level": "INFO"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
