"""Every log line passes the secret guard before any handler writes it.

A seed phrase or key reaches the logs by many roads: an access line with the query string
(``/help/search/?q=<phrase>``), Django's "Not Found: <path>" warning, an exception message
that quotes the input, a library's debug line. Two measures, both here:

* **Access lines carry no query values.** Uvicorn's access and WebSocket lines and Django's
  development-server lines keep the path and the parameter names, never the values
  (``/help/search/?q=…``): a query is where people paste things, and a log does not need it.
* **Every record is screened**: message, arguments, formatted exception and stack go through
  :func:`kefu.trust.guard.redact`, after undoing the escapes loggers apply (percent-encoding
  in URLs, ``\\uXXXX`` in Django's request warnings), so an encoded phrase is found too.

:func:`install` wraps the process's log-record factory, so every record of every logger is
screened when it is made, whatever handler later writes it (Django's own console and mail
handlers, uvicorn's, a test's capture). :class:`SecretFilter` does the same as a
``logging.Filter`` for configurations that name it on their handlers (``settings.LOGGING``,
uvicorn's ``log_config``); a record is screened once either way.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any
from urllib.parse import unquote_plus

from kefu.trust import guard

__all__ = ["ACCESS_LOGGERS", "SecretFilter", "install", "screen_record", "screen_text", "strip_query_values"]

# Loggers whose lines quote request paths with their query strings.
ACCESS_LOGGERS = frozenset({"uvicorn.access", "uvicorn.error", "django.server"})

_SCREENED = "_kefu_secret_screened"
# A path (or URL) followed by a query string, as access lines quote it.
_PATH_QUERY = re.compile(
    r"""(?P<path>(?:[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#"'<>]*)?/[^\s?#"'<>]*)\?(?P<query>[^\s#"'<>]*)"""
)
_PARAM_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,40}")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})|\\x([0-9A-Fa-f]{2})")
_UNSCREENABLE = "[log text withheld: the secret guard failed on it]"


def strip_query_values(text: str) -> str:
    """``text`` with every query value after a path hidden: ``/s/?q=abc&page=2`` → ``/s/?q=…&page=…``.

    Parameter names are kept (they say which form was used) unless they look like anything
    but a name — ``/?<pasted text>`` becomes ``/?…``.
    """
    if "?" not in text:
        return text

    def hide(match: re.Match[str]) -> str:
        query = match.group("query")
        if not query:
            return match.group(0)
        names = []
        for part in query.split("&"):
            name = part.split("=", 1)[0] if "=" in part else ""
            names.append(f"{name}=…" if _PARAM_NAME.fullmatch(name) else "…")
        return f"{match.group('path')}?{'&'.join(names)}"

    return _PATH_QUERY.sub(hide, text)


def _unescape_unicode(text: str) -> str:
    def char(match: re.Match[str]) -> str:
        code = int(next(g for g in match.groups() if g is not None), 16)
        try:
            return chr(code)
        except ValueError:  # beyond U+10FFFF: leave it as written
            return match.group(0)

    return _UNICODE_ESCAPE.sub(char, text)


def screen_text(text: str) -> str:
    """``text`` with secrets hidden, also those written percent-encoded or ``\\u``-escaped.

    When only an unescaped form shows a secret, that form (redacted) is returned: a log line
    that is a little more readable is better than one that still holds the phrase.
    """
    result = guard.scan(text, language="en")
    if result.secret:
        text = result.redacted
    for unescape in (_percent_decoded, _unescape_unicode):
        decoded = unescape(text)
        if decoded != text:
            again = guard.scan(decoded, language="en")
            if again.secret:
                text = again.redacted
    return text


def _percent_decoded(text: str) -> str:
    if not _PERCENT.search(text):
        return text
    return unquote_plus(text, errors="replace")


def _screen_value(value: Any, *, access: bool) -> Any:
    if not isinstance(value, str):
        return value
    if access:
        value = strip_query_values(value)
    return screen_text(value)


def screen_record(record: logging.LogRecord) -> None:
    """Hide secrets in ``record`` in place (message, arguments, exception, stack); once per record.

    Arguments are screened one by one and keep their types and shape, because some formatters
    (uvicorn's access formatter) read them by position. A secret that only appears once the
    message is put together (split across arguments) collapses the record to its redacted text.
    Never raises: if screening fails, the text is withheld rather than written unscreened.
    """
    if getattr(record, _SCREENED, False):
        return
    setattr(record, _SCREENED, True)
    try:
        _screen(record)
    except Exception:  # noqa: BLE001 - a log call must never fail, nor leak what it could not check
        record.msg, record.args = _UNSCREENABLE, ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None


def _screen(record: logging.LogRecord) -> None:
    access = record.name in ACCESS_LOGGERS
    if isinstance(record.msg, str):
        record.msg = _screen_value(record.msg, access=access)
    args = record.args
    if isinstance(args, tuple) and args:
        record.args = tuple(_screen_value(a, access=access) for a in args)
    elif isinstance(args, dict) and args:
        record.args = {k: _screen_value(v, access=access) for k, v in args.items()}
    if args or not isinstance(record.msg, str):  # e.g. logger.error(exc): the text is str(exc)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: the handler reports it, screened
            message = None
        if message is not None:
            screened = _screen_value(message, access=access)
            if screened != message and record.name != "uvicorn.access":
                record.msg, record.args = screened, ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        screened = screen_text(record.exc_text)
        if screened != record.exc_text:
            # Formatters print exc_text when it is set; without exc_info, none re-formats the
            # original (which still holds the secret in its message).
            record.exc_text = screened
            record.exc_info = None
    if record.stack_info:
        record.stack_info = screen_text(record.stack_info)


class SecretFilter(logging.Filter):
    """A handler filter that screens each record (see :func:`screen_record`); never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        screen_record(record)
        return True


_installed = False


def install() -> None:
    """Screen every log record of this process when it is made (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        screen_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
