"""The secret guard at the door: what of a received mail may be stored at all.

Runs before the SMTP ``250`` (and before an IMAP message is marked seen), on the whole MIME
tree: every header of every part, every text part (plain, HTML source and its rendering,
forwarded messages), multipart preambles and epilogues. A part with a seed phrase or key is
replaced by its redacted text; attachments the portal would refuse (wrong type, too large,
too many) are emptied here, so their bytes are never stored either. A mail with nothing to
hide or refuse is stored byte for byte as received.

After a rewrite the result is scanned again; if anything is still found the mail is rebuilt
from its redacted pieces, and if even that fails it is refused (:class:`UnsafeMail`), never
stored.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.utils import formataddr, formatdate

from django.conf import settings

from kefu.mail import parsing
from kefu.tickets.attachments import sniff
from kefu.trust import guard

logger = logging.getLogger(__name__)

# refold_source="none": headers kept or set raw are written as they are. Refolding re-parses
# them, and the email package then drops the quotes around a display name that mixes a
# "[hidden: …]" placeholder with an encoded word, so the From no longer parses.
_STORE_POLICY = policy.default.clone(linesep="\r\n", refold_source="none")


class UnsafeMail(Exception):
    """The mail could not be reduced to a form without secrets; it must not be stored."""


@dataclass
class Intake:
    """A received mail made safe to store, and what the receiver needs to know about it."""

    raw: bytes
    message_id: str
    subject: str
    from_addr: str
    dedupe_key: str
    language: str
    secret_found: bool = False
    kinds: list[str] = field(default_factory=list)
    rewritten: bool = False


def refusal_reason(content: bytes, *, allowed_so_far: int) -> str:
    """Why the portal would refuse this attachment ("" if it would keep it)."""
    if not content:
        return "empty"
    if len(content) > settings.KEFU_ATTACHMENT_MAX_BYTES:
        return "size"
    if sniff(content) is None:
        return "type"
    if allowed_so_far >= settings.KEFU_ATTACHMENTS_PER_MESSAGE:
        return "count"
    return ""


class _Redactor:
    def __init__(self, language: str) -> None:
        self.language = language
        self.secret_found = False
        self.kinds: list[str] = []

    def scan(self, text: str) -> str | None:
        """The redacted text if ``text`` holds a secret, else None."""
        if not text:
            return None
        result = guard.scan(text, language=self.language)
        if not result.secret:
            return None
        self.secret_found = True
        self.kinds.extend(finding.kind for finding in result.findings)
        return result.redacted

    def scan_header(self, raw: str) -> str | None:
        """:meth:`scan` for a raw header value, decoded both ways (see ``keep_word_gaps``)."""
        text = parsing.decode_header_value(raw)
        redacted = self.scan(text)
        if redacted is None:
            spaced = parsing.decode_header_value(raw, keep_word_gaps=True)
            if spaced != text:
                redacted = self.scan(spaced)
        return redacted

    def headers(self, part: Message) -> bool:
        items = list(part.raw_items())
        replaced: dict[int, str] = {}
        for index, (name, value) in enumerate(items):
            redacted = self.scan_header(str(value))
            if redacted is None:
                continue
            if name.lower() in ADDRESS_HEADERS:
                # Redacting the whole value would break the addresses (a placeholder's
                # brackets and colon are address syntax): hide the names, keep the addresses.
                replaced[index] = redacted_address_header(str(value), language=self.language)
            else:
                replaced[index] = " ".join(redacted.split())
        if not replaced:
            return False
        for name in {name for name, _value in items}:
            del part[name]
        for index, (name, value) in enumerate(items):
            if index in replaced and name.lower() not in ADDRESS_HEADERS:
                part[name] = replaced[index]
            elif index in replaced:
                # Already encoded by formataddr. Set through the policy, the header would be
                # re-parsed and refolded, and the email package drops the quotes around a name
                # holding "[hidden: …]" next to an encoded word: the From no longer parsed and
                # the mail was ignored as having no sender.
                part.set_raw(name, replaced[index])
            else:
                part.set_raw(name, value)
        return True

    def text_part(self, part: Message) -> bool:
        source = parsing.part_text(part)
        if part.get_content_type() == "text/html":
            rendered = parsing.html_to_text(source)
            hidden_in_source = self.scan(source) is not None
            redacted = self.scan(rendered)
            if redacted is None and not hidden_in_source:
                return False
            # HTML cannot be redacted in place reliably: keep its redacted rendering instead.
            _replace_with_text(part, redacted if redacted is not None else rendered)
            return True
        redacted = self.scan(source)
        if redacted is None:
            return False
        _replace_with_text(part, redacted)
        return True

    def envelope(self, part: Message) -> bool:
        changed = False
        for attribute in ("preamble", "epilogue"):
            value = getattr(part, attribute, None)
            if value and self.scan(str(value)) is not None:
                setattr(part, attribute, None)
                changed = True
        return changed


# Headers that hold addresses, which must stay parseable when a display name is redacted.
ADDRESS_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "sender",
        "resent-from",
        "resent-to",
        "resent-cc",
        "resent-bcc",
        "resent-sender",
        "disposition-notification-to",
    }
)


def redacted_address_header(raw: str, *, language: str) -> str:
    """An address header with secrets hidden in its display names and its addresses kept.

    ``"<seed phrase>" <a@b.example>`` becomes ``"[hidden: possible seed phrase]" <a@b.example>``
    (non-ASCII names RFC 2047-encoded), so the sender can still be read and answered. An address
    that is itself a secret is dropped; if a secret spans several names, every name is dropped.
    """
    pairs = []
    for (display, addr), (spaced, _addr) in zip(
        parsing.address_pairs(raw), parsing.address_pairs(raw, keep_word_gaps=True), strict=True
    ):
        found = guard.scan(spaced, language=language)  # the encoder's gaps kept (see parsing)
        name = found.redacted if found.secret else guard.redact(display, language=language)
        name = " ".join(name.split())
        if guard.scan(addr, language=language).secret:
            addr = ""
        if addr or name:
            pairs.append((name, addr))
    value = ", ".join(formataddr((name, addr), charset="utf-8") for name, addr in pairs)
    if _Redactor(language).scan_header(value) is not None:
        value = ", ".join(addr for _name, addr in pairs if addr)
    return value


def _replace_with_text(part: Message, text: str) -> None:
    filename = part.get_filename()
    disposition = part.get_content_disposition()
    assert isinstance(part, EmailMessage)
    part.clear_content()
    part.set_content(text, subtype="plain", charset="utf-8", disposition=disposition, filename=filename)


def _empty_attachment(part: Message, reason: str, index: int) -> None:
    name = parsing.attachment_name(part, index)
    assert isinstance(part, EmailMessage)
    part.clear_content()
    part.set_content(
        b"", maintype="application", subtype="octet-stream", disposition="attachment", filename=name
    )
    part[parsing.REFUSED_HEADER] = reason


def _content_key(raw: bytes, msg: Message) -> str:
    """For mail without a Message-ID: the same message relayed twice gets the same key.

    Relays prepend Received headers, so the key covers the identifying headers and the body,
    not the raw bytes as a whole.
    """
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    digest = hashlib.sha256()
    for name in ("From", "To", "Cc", "Date", "Subject"):
        digest.update(parsing.header_text(msg, name).encode("utf-8", "surrogateescape") + b"\0")
    digest.update(body.replace(b"\r\n", b"\n"))
    return "content:" + digest.hexdigest()


def dedupe_key_for(message_id: str, raw: bytes, msg: Message) -> str:
    basis = f"id:{message_id}" if message_id else _content_key(raw, msg)
    return hashlib.sha256(basis.encode("utf-8", "surrogateescape")).hexdigest()


def _sanitise(msg: EmailMessage, redactor: _Redactor) -> bool:
    """Redact secrets and empty refused attachments in place; True if anything changed."""
    changed = False
    part: Message  # walk() yields EmailMessage parts, iter_leaves() plain Message ones
    for part in msg.walk():
        changed |= redactor.headers(part)
        if part.is_multipart():
            changed |= redactor.envelope(part)
    allowed = 0
    for index, (part, role) in enumerate(parsing.iter_leaves(msg), start=1):
        if role == parsing.ATTACHMENT:
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            reason = refusal_reason(content, allowed_so_far=allowed)
            if reason:
                _empty_attachment(part, reason, index)
                changed = True
            else:
                allowed += 1
        elif role != parsing.SKIP and part.get_content_maintype() == "text":
            changed |= redactor.text_part(part)
    return changed


def _still_secret(raw: bytes, language: str) -> bool:
    """Scan a stored form the way :func:`_sanitise` does, changing nothing."""
    probe = _Redactor(language)
    msg = parsing.parse_bytes(raw)
    part: Message  # walk() yields EmailMessage parts, iter_leaves() plain Message ones
    for part in msg.walk():
        for _name, value in part.raw_items():
            if probe.scan_header(str(value)) is not None:
                return True
        if part.is_multipart() and any(
            probe.scan(str(getattr(part, a, None) or "")) is not None for a in ("preamble", "epilogue")
        ):
            return True
    for part, role in parsing.iter_leaves(msg):
        if role in (parsing.ATTACHMENT, parsing.SKIP) or part.get_content_maintype() != "text":
            continue
        source = parsing.part_text(part)
        if probe.scan(source) is not None:
            return True
        if part.get_content_type() == "text/html" and probe.scan(parsing.html_to_text(source)) is not None:
            return True
    return False


def _rebuild(msg: EmailMessage, language: str) -> bytes:
    """A plain mail from the redacted pieces of ``msg``: the last resort before refusing it."""
    out = EmailMessage(policy=_STORE_POLICY)
    for name in ("From", "To", "Cc", "Date", "Message-ID", "In-Reply-To", "References", "Subject"):
        if name.lower() in ADDRESS_HEADERS:
            raw = ", ".join(parsing.raw_headers(msg, name))
            value = redacted_address_header(raw, language=language) if raw else ""
        else:
            raw = ", ".join(parsing.raw_headers(msg, name)[:1])
            redacted = _Redactor(language).scan_header(raw)
            value = " ".join((redacted if redacted is not None else parsing.header_text(msg, name)).split())
        if value and name.lower() in ADDRESS_HEADERS:
            out.set_raw(name, value)  # encoded by formataddr already (see _STORE_POLICY)
        elif value:
            out[name] = value
    if "Date" not in out:
        out["Date"] = formatdate(localtime=True)
    parsed_texts = [
        parsing.leaf_text(part)
        for part, role in parsing.iter_leaves(msg)
        if role in (parsing.BODY, parsing.FORWARDED) and part.get_content_maintype() == "text"
    ]
    out.set_content(guard.redact("\n\n".join(parsed_texts), language=language))
    return out.as_bytes()


def prepare_inbound(raw: bytes) -> Intake:
    """Guard and filter a received mail; the result is what may be stored.

    Raises :class:`UnsafeMail` when no safe form could be made.
    """
    msg = parsing.parse_bytes(raw)
    sample = (
        parsing.header_text(msg, "Subject")
        + " "
        + " ".join(
            parsing.part_text(part)[:2000]
            for part, role in parsing.iter_leaves(msg)
            if role == parsing.BODY and part.get_content_maintype() == "text"
        )
    )
    language = parsing.guess_language(sample)
    redactor = _Redactor(language)
    stored = raw
    rewritten = _sanitise(msg, redactor)
    if rewritten:
        try:
            stored = msg.as_bytes(policy=_STORE_POLICY)
            unsafe = _still_secret(stored, language)
        except Exception:  # the generator can choke on mangled input; fall back to a rebuild
            logger.warning("inbound mail could not be re-serialised after redaction", exc_info=True)
            unsafe = True
        if unsafe:
            stored = _rebuild(msg, language)
            if _still_secret(stored, language):
                raise UnsafeMail("a secret could not be removed from the mail")
        msg = parsing.parse_bytes(stored)
    message_id = parsing.normalise_message_id(parsing.header_text(msg, "Message-ID"))
    senders = parsing.addresses(msg, "From")
    return Intake(
        raw=stored,
        message_id=message_id,
        subject=parsing.header_text(msg, "Subject"),
        from_addr=senders[0][1] if senders else "",
        dedupe_key=dedupe_key_for(message_id, raw, parsing.parse_bytes(raw) if rewritten else msg),
        language=language,
        secret_found=redactor.secret_found,
        kinds=sorted(set(redactor.kinds)),
        rewritten=rewritten,
    )
