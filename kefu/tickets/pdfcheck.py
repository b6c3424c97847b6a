"""A look inside uploaded PDFs: a real PDF document, without active content.

``%PDF-`` at the start proves nothing: an HTML or script file with that prefix, a polyglot
that is both, or a genuine PDF that runs JavaScript or launches an embedded program when an
agent opens it all begin that way. A PDF is accepted when its structure parses (pypdf), it ends
with ``%%EOF``, it carries no markup of another format near its start, it is not encrypted
beyond an empty password, and no object reachable from it names an action or feature that runs
or carries code: JavaScript, Launch, embedded files, forms that submit or import data, rich
media, XFA. Legitimate evidence (statements, receipts, screenshots printed to PDF) has none.
"""

from __future__ import annotations

import io
import logging
import re

logger = logging.getLogger(__name__)

# The header, as readers look for it: "%PDF-1.x" or "%PDF-2.x".
_HEADER = re.compile(rb"^%PDF-[12]\.\d")
# %%EOF must be near the end (readers search the last kilobyte; incremental updates append).
_TAIL = 2048
# Markup of another format near the start: a browser sniffing the file would run it.
_FOREIGN = re.compile(rb"<(?:!doctype|html|head|body|script|svg|iframe|object|embed|\?xml)\b", re.IGNORECASE)
# Names (keys or values) that run code, start programs or carry files.
ACTIVE_NAMES = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/FileAttachment",
        "/SubmitForm",
        "/ImportData",
        "/RichMedia",
        "/XFA",
        "/GoToE",
        "/GoToR",
        "/Sound",
        "/Movie",
    }
)
# The same names in the raw bytes, including #-escaped spellings (/J#61vaScript), as a backstop
# for objects the parser does not reach.
_RAW_NAME = re.compile(rb"/(?:[A-Za-z0-9]|#[0-9A-Fa-f]{2}){1,40}")
_MAX_OBJECTS = 200_000


class PdfRefused(Exception):
    """Not an acceptable PDF; ``reason`` is "active" (scripts, actions, files) or "malformed"."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _decoded_name(raw: bytes) -> str:
    return "/" + re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw[1:]).decode(
        "latin-1"
    )


def _raw_active_names(content: bytes) -> set[str]:
    return {name for name in map(_decoded_name, _RAW_NAME.findall(content)) if name in ACTIVE_NAMES}


def _walk(root: object) -> set[str]:
    """Every active name in objects reachable from ``root`` (keys, and name values like /S /JavaScript)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack: list[object] = [root]
    visited = 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        visited += 1
        if visited > _MAX_OBJECTS:
            raise PdfRefused("malformed", "too many objects")
        if isinstance(node, DictionaryObject):  # streams are dictionaries too
            for name, value in node.items():
                if name in ACTIVE_NAMES:
                    found.add(str(name))
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
        elif isinstance(node, NameObject) and node in ACTIVE_NAMES:
            found.add(str(node))
    return found


def inspect_pdf(content: bytes) -> None:
    """Raise :class:`PdfRefused` unless ``content`` is a well-formed PDF without active content."""
    if not _HEADER.match(content):
        raise PdfRefused("malformed", "no PDF header")
    if b"%%EOF" not in content[-_TAIL:]:
        raise PdfRefused("malformed", "no %%EOF at the end")
    if _FOREIGN.search(content[:4096]):
        raise PdfRefused("malformed", "markup of another format")
    raw_active = _raw_active_names(content)
    if raw_active:
        raise PdfRefused("active", ", ".join(sorted(raw_active)))
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfRefused("malformed", "encrypted")
        if len(reader.pages) < 1:
            raise PdfRefused("malformed", "no pages")
        found = _walk(reader.trailer)
    except PdfRefused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise PdfRefused("malformed", f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # a parser bug must refuse the file, never accept it
        logger.warning("unexpected error while checking a PDF upload", exc_info=True)
        raise PdfRefused("malformed", f"{type(exc).__name__}") from exc
    if found:
        raise PdfRefused("active", ", ".join(sorted(found)))
