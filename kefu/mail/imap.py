"""The IMAP poller, for operators whose support mailbox lives on another mail server.

``KEFU_IMAP_URL`` says where::

    imaps://user:pass@imap.example:993/INBOX            implicit TLS (certificate verified)
    imap://user:pass@imap.example:143/INBOX?starttls=1  STARTTLS
    imap://user:pass@127.0.0.1:143/INBOX                plain (a local server only)
    ...?move=Processed                                  move handled mail instead of marking it seen

Each poll takes the unseen, undeleted messages of the mailbox, stores each one (guarded)
exactly as the SMTP receiver does, and only then marks it ``\\Seen`` (or moves it). A crash
in between leaves the message unseen; the next poll fetches it again and the Message-ID
de-duplication stores it once.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from kefu.mail import conf

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"
    implicit_tls: bool = True
    starttls: bool = False
    move_to: str = ""
    timeout: float = 30.0

    def __repr__(self) -> str:  # never print the password
        return f"ImapSettings(host={self.host!r}, port={self.port}, user={self.user!r}, mailbox={self.mailbox!r})"


def parse_imap_url(url: str) -> ImapSettings:
    """``imap(s)://user:pass@host:port/MAILBOX?starttls=1&move=Folder&timeout=30``."""
    parts = urlsplit((url or "").strip())
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps") or not parts.hostname:
        raise ValueError("KEFU_IMAP_URL must look like imaps://user:pass@host:993/INBOX")
    query = {key.lower(): values[-1] for key, values in parse_qs(parts.query).items()}
    implicit_tls = scheme == "imaps"
    return ImapSettings(
        host=parts.hostname,
        port=parts.port or (993 if implicit_tls else 143),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
        implicit_tls=implicit_tls,
        starttls=not implicit_tls and query.get("starttls", query.get("tls", "")).lower() in _TRUE,
        move_to=query.get("move", ""),
        timeout=float(query.get("timeout", 30)),
    )


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _connect(settings: ImapSettings) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    client: imaplib.IMAP4
    if settings.implicit_tls:
        client = imaplib.IMAP4_SSL(
            settings.host, settings.port, ssl_context=context, timeout=settings.timeout
        )
    else:
        client = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
        if settings.starttls:
            client.starttls(ssl_context=context)
    client.login(settings.user, settings.password)
    return client


_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _fetch_size(client: imaplib.IMAP4, uid: str) -> int:
    typ, data = client.uid("FETCH", uid, "(RFC822.SIZE)")
    for item in data or []:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes) and (match := _SIZE.search(line)):
            return int(match.group(1))
    return 0


def _fetch(client: imaplib.IMAP4, uid: str, section: str) -> bytes | None:
    typ, data = client.uid("FETCH", uid, f"(BODY.PEEK[{section}])")
    if typ != "OK":
        return None
    for item in data or []:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _done(client: imaplib.IMAP4, uid: str, settings: ImapSettings) -> None:
    """Mark a stored message handled: moved to ``move_to`` if set, else flagged \\Seen."""
    if settings.move_to:
        if "MOVE" in client.capabilities:
            typ, _ = client.uid("MOVE", uid, _quote(settings.move_to))
            if typ == "OK":
                return
        typ, _ = client.uid("COPY", uid, _quote(settings.move_to))
        if typ == "OK":
            client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen \Deleted)")
            if "UIDPLUS" in client.capabilities:
                client.uid("EXPUNGE", uid)
            else:
                client.expunge()
            return
        logger.warning("could not move IMAP message to %s; marking it seen instead", settings.move_to)
    client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")


def poll_imap_once(url: str, *, limit: int = 200) -> int:
    """Fetch unseen mail from the mailbox in ``url`` and store it; returns how many were taken.

    A message that cannot be stored for a passing reason stays unseen for the next poll.
    """
    from kefu.mail.actions import MailTooLarge, do_accept_inbound, do_record_oversized, do_record_unstorable
    from kefu.mail.models import InboundSource
    from kefu.mail.redaction import UnsafeMail

    settings = parse_imap_url(url)
    client = _connect(settings)
    taken = 0
    try:
        typ, _ = client.select(_quote(settings.mailbox))
        if typ != "OK":
            raise RuntimeError(f"cannot open IMAP mailbox {settings.mailbox!r}")
        # No charset argument (imaplib would skip a None one anyway); UIDs are ASCII digits.
        typ, data = client.uid("SEARCH", "UNSEEN", "UNDELETED")
        uids = [u.decode("ascii") for u in (data[0] or b"").split()] if typ == "OK" and data else []
        for uid in uids[:limit]:
            size = _fetch_size(client, uid)
            try:
                if size > conf.max_bytes():
                    header = _fetch(client, uid, "HEADER") or b""
                    do_record_oversized(header, source=InboundSource.IMAP, size=size)
                else:
                    raw = _fetch(client, uid, "")
                    if raw is None:
                        continue
                    do_accept_inbound(
                        raw, envelope_from=None, envelope_to=[settings.user], source=InboundSource.IMAP
                    )
            except (UnsafeMail, MailTooLarge) as exc:
                # Never storable; leaving it unseen would fetch it forever. Admins see a failed row.
                do_record_unstorable(raw_digest=f"imap:{settings.mailbox}:{uid}:{size}", error=exc)
            except Exception:
                logger.exception("IMAP message %s not stored; it stays unseen for the next poll", uid)
                continue
            _done(client, uid, settings)
            taken += 1
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return taken
