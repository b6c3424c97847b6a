"""Reading mail as clients really send it: charsets, encoded headers, HTML, quoted history.

Pure functions over the standard library's ``email`` package (``policy.default``) and nh3;
no database. Chinese clients matter most: a part labelled ``gb2312`` is often GBK (or
GB18030), so every GB label is decoded as GB18030, its superset; ``big5`` as Big5-HKSCS.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser

import nh3

# Labels seen in the wild → the codec that decodes them correctly (a superset of the label).
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "gb_2312-80": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    # Mail labelled Latin-1 is written with Windows-1252 quotes and dashes.
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
}


def codec_for(charset: str | None) -> str | None:
    """The Python codec to decode ``charset`` with, or None if the label is unknown."""
    if not charset:
        return None
    label = charset.strip().strip('"').lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        import codecs

        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Decode text whose declared charset may be missing, wrong or a subset of the real one."""
    tried: list[str] = []
    for codec in (codec_for(charset), "utf-8", "gb18030"):
        if codec is None or codec in tried:
            continue
        tried.append(codec)
        try:
            return payload.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return payload.decode(codec_for(charset) or "utf-8", errors="replace")


_SURROGATE = re.compile(r"[\udc80-\udcff]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _unescape_8bit(value: str) -> str:
    """Headers with raw 8-bit bytes (common from Chinese clients) arrive surrogate-escaped."""
    if _SURROGATE.search(value):
        return decode_bytes(value.encode("ascii", "surrogateescape"), None)
    return value


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def decode_header_value(raw: str, *, keep_word_gaps: bool = False) -> str:
    """An RFC 2047 (or raw 8-bit) header value as text, whatever the charsets involved.

    ``keep_word_gaps``: keep the whitespace between adjacent encoded words, which RFC 2047
    says to drop. Encoders split long values at spaces, so the space between two words of a
    seed phrase can vanish in decoding ("栽 缘" → "栽缘"); the secret guard reads both forms.
    """
    if keep_word_gaps:
        return "".join(
            decode_header_value(piece) if _ENCODED_WORD.fullmatch(piece) else piece
            for piece in re.split(f"({_ENCODED_WORD.pattern})", _FOLD.sub("", raw or ""))
        ).strip()
    value = _unescape_8bit(_FOLD.sub("", raw or ""))
    out: list[str] = []
    for chunk, charset in decode_header(value):
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            # decode_header hands back unencoded text between encoded words this way.
            out.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            out.append(decode_bytes(chunk, charset))
    return "".join(out).strip()


def raw_headers(msg: Message, name: str) -> list[str]:
    """Every raw value of header ``name`` (no parsing by the email package, which is lossy here)."""
    key = name.lower()
    return [str(value) for header, value in msg.raw_items() if header.lower() == key]


def header_text(msg: Message, name: str) -> str:
    """The first ``name`` header, decoded; empty if absent."""
    values = raw_headers(msg, name)
    return decode_header_value(values[0]) if values else ""


def addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs of an address header such as From or To."""
    return [pair for value in raw_headers(msg, name) for pair in address_pairs(value)]


def address_pairs(raw: str, *, keep_word_gaps: bool = False) -> list[tuple[str, str]]:
    """(decoded display name, lower-case address) pairs of one raw address header value.

    Split before decoding: an encoded name may decode to a comma or quote of its own.
    """
    value = _unescape_8bit(_FOLD.sub("", raw or ""))
    return [
        (decode_header_value(display, keep_word_gaps=keep_word_gaps), addr.strip().lower())
        for display, addr in getaddresses([value])
    ]


_MSGID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str) -> list[str]:
    """Message-IDs in a Message-ID, In-Reply-To or References header, without angle brackets."""
    found = _MSGID.findall(value or "")
    if not found and value and value.strip() and " " not in value.strip():
        found = [value.strip()]  # some clients omit the brackets
    return [item.strip() for item in found if item.strip()]


def normalise_message_id(value: str) -> str:
    ids = message_ids(value)
    return ids[0] if ids else ""


# --------------------------------------------------------------------------- HTML → text

_HTML_TAGS = {
    "a", "p", "br", "div", "span", "blockquote", "pre", "hr", "ul", "ol", "li", "table", "tbody",
    "thead", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "b", "strong", "i", "em", "u",
    "font", "section", "article", "header", "footer", "dl", "dt", "dd", "center",
}  # fmt: skip
_BLOCK_TAGS = _HTML_TAGS - {"a", "span", "b", "strong", "i", "em", "u", "font", "br", "td", "th"}


class _TextRenderer(HTMLParser):
    """Sanitised HTML → lines of text; blockquotes become ``> `` lines like plain-text quoting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.depth = 0
        self.pre = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def flush(self, *, force: bool = False) -> None:
        text = "".join(self.buffer).strip()
        self.buffer = []
        if text or force:
            self.lines.append(("> " * self.depth) + text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.flush(force=True)
        elif tag == "hr":
            self.flush()
            self.lines.append("_" * 32)
        elif tag in ("td", "th"):
            self.buffer.append(" ")
        elif tag == "li":
            self.flush()
            self.buffer.append("- ")
        elif tag in _BLOCK_TAGS:
            self.flush()
            if tag == "blockquote":
                self.depth += 1
            elif tag == "pre":
                self.pre += 1
        if tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            href, self.href = self.href, None
            label = "".join(self.link_text).strip()
            # A phishing report needs the real target, not only the words shown.
            if href and href.startswith(("http://", "https://")) and href.rstrip("/") != label.rstrip("/"):
                self.buffer.append(f" <{href}>")
        elif tag in _BLOCK_TAGS:
            self.flush()
            if tag == "blockquote":
                self.depth = max(0, self.depth - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        data = data.replace("\xa0", " ")
        if self.pre:
            first, *rest = data.split("\n")
            self.buffer.append(first)
            for line in rest:
                self.flush(force=True)
                self.buffer.append(line)
        else:
            data = re.sub(r"\s+", " ", data)
            self.buffer.append(data)
        if self.href is not None:
            self.link_text.append(data)

    def text(self) -> str:
        self.flush()
        return _tidy("\n".join(self.lines))


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail body: sanitised by nh3 first, then rendered line by line."""
    cleaned = nh3.clean(
        html or "",
        tags=_HTML_TAGS,
        attributes={"a": {"href"}},
        clean_content_tags={"script", "style", "title", "head"},
        strip_comments=True,
        link_rel=None,
    )
    renderer = _TextRenderer()
    renderer.feed(cleaned)
    renderer.close()
    return renderer.text()


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --------------------------------------------------------------------------- MIME structure


def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed: lines ending in a space continue on the next line."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if line.endswith(" ") and line != "-- ":
            current += line[:-1] if delsp else line
            continue
        out.append(current + line)
        current = ""
    if current:
        out.append(current)
    return "\n".join(out)


def part_text(part: Message) -> str:
    """The decoded text of a text/* leaf, line endings normalised."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("utf-8", "surrogateescape")
    text = decode_bytes(payload, part.get_content_charset()).replace("\r\n", "\n").replace("\r", "\n")
    if str(part.get_param("format") or "").lower() == "flowed":
        text = _unflow(text, delsp=(str(part.get_param("delsp") or "")).lower() == "yes")
    return text


# Roles of a leaf part: the body shown to agents, an unchosen alternative (kept, scanned, not
# shown), text inside a forwarded message/rfc822, an attachment, or machine-readable parts.
BODY, ALTERNATIVE, FORWARDED, ATTACHMENT, SKIP = "body", "alternative", "forwarded", "attachment", "skip"
_MACHINE_TYPES = {"message/delivery-status", "message/disposition-notification", "message/feedback-report"}


def _is_attachment(part: Message) -> bool:
    return part.get_content_disposition() == "attachment" or bool(part.get_filename())


def _alternative_rank(part: Message) -> int:
    """How good a child of multipart/alternative is as the body: plain first, then HTML."""
    ctype = part.get_content_type()
    if ctype == "text/plain":
        return 3
    if part.is_multipart():
        types = {sub.get_content_type() for sub in part.walk()}
        if "text/plain" in types:
            return 2
        if "text/html" in types:
            return 1
    if ctype == "text/html":
        return 1
    return 0


def iter_leaves(msg: Message, role: str = BODY) -> Iterator[tuple[Message, str]]:
    """Each leaf part of ``msg`` with its role; every leaf is visited exactly once."""
    ctype = msg.get_content_type()
    if ctype in _MACHINE_TYPES:
        yield msg, SKIP
        return
    if msg.get_content_maintype() == "message":
        inner = msg.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            yield from iter_leaves(inner[0], FORWARDED if role == BODY else role)
        else:
            yield msg, ATTACHMENT
        return
    if msg.is_multipart():
        children = [child for child in msg.get_payload() if isinstance(child, Message)]
        if msg.get_content_subtype() == "alternative" and children:
            best = max(range(len(children)), key=lambda i: (_alternative_rank(children[i]), -i))
            for index, child in enumerate(children):
                yield from iter_leaves(child, role if index == best else ALTERNATIVE)
        else:
            for child in children:
                yield from iter_leaves(child, role)
        return
    if _is_attachment(msg) or msg.get_content_maintype() != "text":
        yield msg, ATTACHMENT
    elif ctype in ("text/plain", "text/html"):
        yield msg, role
    else:
        yield msg, ALTERNATIVE if role == BODY else role


def leaf_text(part: Message) -> str:
    """Text of a text leaf; HTML rendered to text."""
    text = part_text(part)
    return html_to_text(text) if part.get_content_type() == "text/html" else _tidy(text)


# --------------------------------------------------------------------------- the parsed mail

REFUSED_HEADER = "X-Kefu-Refused"


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content: bytes
    content_type: str
    refused: str = ""  # reason code set when the mail was accepted ("type", "size", "count", "empty")


@dataclass
class ParsedMail:
    message: EmailMessage
    message_id: str
    subject: str
    from_name: str
    from_addr: str
    in_reply_to: list[str]
    references: list[str]
    text: str  # body text, quotes and all
    forwarded_text: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)

    @property
    def full_text(self) -> str:
        """Everything a reader of the mail saw, for agents who need the history."""
        if self.forwarded_text:
            return f"{self.text}\n\n{self.forwarded_text}".strip()
        return self.text

    @property
    def thread_ids(self) -> list[str]:
        """Parents first: In-Reply-To, then References newest to oldest."""
        ordered: list[str] = []
        for item in [*self.in_reply_to, *reversed(self.references)]:
            if item not in ordered:
                ordered.append(item)
        return ordered


def parse_bytes(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def attachment_name(part: Message, index: int) -> str:
    name = part.get_filename()
    if name:
        return decode_header_value(str(name))
    import mimetypes

    extension = mimetypes.guess_extension(part.get_content_type()) or ".bin"
    return f"attachment-{index}{extension}"


def parse_mail(raw: bytes) -> ParsedMail:
    """Decode a whole mail: headers, body text (plain preferred over HTML) and attachments."""
    msg = parse_bytes(raw)
    senders = addresses(msg, "From")
    from_name, from_addr = senders[0] if senders else ("", "")
    texts: list[str] = []
    forwarded: list[str] = []
    attachments: list[ParsedAttachment] = []
    for part, role in iter_leaves(msg):
        if role == BODY:
            texts.append(leaf_text(part))
        elif role == FORWARDED:
            forwarded.append(leaf_text(part))
        elif role == ATTACHMENT:
            payload = part.get_payload(decode=True)
            attachments.append(
                ParsedAttachment(
                    filename=attachment_name(part, len(attachments) + 1),
                    content=payload if isinstance(payload, bytes) else b"",
                    content_type=part.get_content_type(),
                    refused=header_text(part, REFUSED_HEADER),
                )
            )
    return ParsedMail(
        message=msg,
        message_id=normalise_message_id(header_text(msg, "Message-ID")),
        subject=header_text(msg, "Subject"),
        from_name=from_name,
        from_addr=from_addr,
        in_reply_to=message_ids(header_text(msg, "In-Reply-To")),
        references=message_ids(" ".join(header_text(msg, "References").split())),
        text=_tidy("\n\n".join(t for t in texts if t)),
        forwarded_text=_tidy("\n\n".join(t for t in forwarded if t)),
        attachments=attachments,
    )


# --------------------------------------------------------------------------- quoted history

_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|original|原始邮件|原始郵件|原邮件|原郵件)\s*-{2,}\s*$", re.IGNORECASE
)
_UNDERSCORES = re.compile(r"^\s*_{8,}\s*$")
_FORWARD = re.compile(
    r"^\s*(-{2,}\s*(forwarded message|转发的邮件|轉寄的郵件|转发邮件信息|转发邮件)\s*-{2,}|begin forwarded message:|"
    r"开始转发的邮件[:：]|以下为转发的邮件)\s*$",
    re.IGNORECASE,
)
_ON_WROTE = re.compile(
    r"^\s*(on|am|le|el)\b.{0,300}\b(wrote|schrieb|a écrit|escribió)\s*:\s*$", re.IGNORECASE
)
_ZH_WROTE = re.compile(r"^.{0,300}(写道|寫道)\s*[:：]\s*$")
_FROM_LINE = re.compile(r"^\s*[*\s]*(from|发件人|發件人|寄件者|寄件人)[*\s]*[:：]", re.IGNORECASE)
_HEADER_LINE = re.compile(
    r"^\s*[*\s]*(sent|date|to|cc|subject|发送时间|發送時間|日期|时间|時間|收件人|抄送|主题|主題|主旨)[*\s]*[:：]",
    re.IGNORECASE,
)
_STRONG_HEADER_LINE = re.compile(
    r"^\s*[*\s]*(sent|subject|发送时间|發送時間|主题|主題|主旨)[*\s]*[:：]", re.IGNORECASE
)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent from my \w+.*|get outlook for (ios|android).*|发自我的\s*\S+|从我的\s*\S+\s*发送|"
    r"來自我的\s*\S+|发自\s*(网易|QQ)?邮箱.*)\s*$",
    re.IGNORECASE,
)


def _header_block_at(lines: list[str], index: int) -> bool:
    """A quoted "From: … Sent: … To: … Subject:" block (Outlook, Foxmail, QQ Mail) starts here.

    A customer may well write "From: 0x… / To: 0x…" about a transfer, so the block must name
    a mail address or carry a Sent/Subject line to count.
    """
    if not _FROM_LINE.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 7] if line.strip()][:4]
    headers = [line for line in following if _HEADER_LINE.match(line)]
    if not headers:
        return False
    return "@" in lines[index] or any(_STRONG_HEADER_LINE.match(line) for line in headers)


def _attribution_at(lines: list[str], index: int) -> int:
    """Lines taken by an "On … wrote:" / "在 … 写道：" attribution starting here (0: none)."""
    line = lines[index]
    if _ON_WROTE.match(line) or _ZH_WROTE.match(line):
        return 1
    if index + 1 < len(lines) and re.match(r"^\s*(on|在)\b", line, re.IGNORECASE):
        # Gmail wraps a long attribution: "On Mon, … Alice <" / "alice@example> wrote:"
        joined = f"{line} {lines[index + 1].strip()}"
        if _ON_WROTE.match(joined) or _ZH_WROTE.match(joined):
            return 2
    return 0


def _history_starts_at(lines: list[str], index: int) -> bool:
    """Everything from here on is an earlier mail (Outlook, Foxmail and QQ Mail style)."""
    line = lines[index]
    if _ORIGINAL.match(line) or _header_block_at(lines, index):
        return True
    if _UNDERSCORES.match(line):
        rest = [i for i in range(index + 1, min(len(lines), index + 4)) if lines[i].strip()]
        return bool(rest) and _header_block_at(lines, rest[0])
    return False


def visible_text(text: str) -> str:
    """What the customer wrote this time: quoted history, attributions and signatures trimmed.

    ``>`` quotes are dropped wherever they are, so inline and bottom-posted answers survive;
    an attribution followed by something other than ``>`` lines, and the header-block
    separators of Outlook, Foxmail and QQ Mail, end the message. Forwarded messages are not
    trimmed: what a customer forwards (a suspicious mail, a receipt) is usually the point.
    """
    lines = (text or "").split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        if _FORWARD.match(lines[index]):
            kept += lines[index:]  # a forward is the content, headers and all
            break
        taken = _attribution_at(lines, index)
        if taken:
            following = next((line for line in lines[index + taken :] if line.strip()), "")
            if not following.lstrip().startswith(">"):
                break
            index += taken
            continue
        if _history_starts_at(lines, index):
            break
        if not lines[index].lstrip().startswith(">"):
            kept.append(lines[index])
        index += 1
    for position, line in enumerate(kept):
        if line.rstrip() == "--" and len(kept) - position <= 15:
            kept = kept[:position]
            break
    kept = [line for line in kept if not _MOBILE_SIGNATURE.match(line)]
    return _tidy("\n".join(kept))


# --------------------------------------------------------------------------- subjects, language

CASE_NUMBER = re.compile(r"KF-\d{8}-\d{8}", re.IGNORECASE)
_REPLY_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|wg|sv|vs|tr|rif|回复|回覆|答复|答覆|转发|轉寄|转寄)\s*(\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_CASE_TAG = re.compile(r"[\[\(（【<〔]?\s*KF-\d{8}-\d{8}\s*[\]\)）】>〕]?", re.IGNORECASE)


def case_numbers(subject: str) -> list[str]:
    """Case numbers quoted in a subject, in any bracket style, upper-cased."""
    return [match.upper() for match in CASE_NUMBER.findall(subject or "")]


def clean_subject(subject: str) -> str:
    """A ticket title from a subject: reply/forward prefixes and case tags removed."""
    text = _CASE_TAG.sub(" ", subject or "")
    previous = None
    while previous != text:
        previous = text
        text = _REPLY_PREFIX.sub("", text).strip()
    return " ".join(text.split())


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def guess_language(text: str) -> str:
    """``zh-hans`` when the text has Chinese characters, else ``en``."""
    return "zh-hans" if _CJK.search(text or "") else "en"
