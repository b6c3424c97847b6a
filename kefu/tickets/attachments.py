"""Validation of uploaded evidence: images and PDF only, size-limited, type sniffed from content."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

# Sniffed format → (content type, allowed file name extensions)
_IMAGE_FORMATS = {
    "PNG": ("image/png", {".png"}),
    "JPEG": ("image/jpeg", {".jpg", ".jpeg"}),
    "GIF": ("image/gif", {".gif"}),
    "WEBP": ("image/webp", {".webp"}),
}
_PDF = ("application/pdf", {".pdf"})
_SAFE_NAME = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)
# Decompression bombs: refuse images beyond ~50 megapixels.
Image.MAX_IMAGE_PIXELS = 50_000_000


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    size: int
    sha256: str
    content: bytes


def clean_filename(name: str) -> str:
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _SAFE_NAME.sub("_", name).strip(" .") or "file"
    return name[-120:]


def sniff(content: bytes) -> tuple[str, set[str]] | None:
    """Return (content type, allowed extensions) judged from the bytes, or None if not allowed."""
    if content.startswith(b"%PDF-"):
        return _PDF
    try:
        with Image.open(io.BytesIO(content)) as image:
            fmt = image.format
            image.verify()  # parses the whole structure; a truncated or forged file raises
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return _IMAGE_FORMATS.get(fmt or "")


def _check_pdf(name: str, content: bytes) -> None:
    """Beyond the first bytes: the whole structure, and no scripts, actions or embedded files."""
    from kefu.tickets.pdfcheck import PdfRefused, inspect_pdf

    try:
        inspect_pdf(content)
    except PdfRefused as exc:
        if exc.reason == "active":
            raise ValidationError(
                _(
                    "“{name}” is not allowed: PDF files with scripts, automatic actions or embedded "
                    "files cannot be attached. Print it to a new PDF or attach a screenshot."
                ).format(name=name)
            ) from exc
        raise ValidationError(
            _("“{name}” is not a valid PDF file. Attach the original document or a screenshot.").format(
                name=name
            )
        ) from exc


def check_upload(upload: UploadedFile) -> CheckedFile:
    """Read and validate one upload; raises ValidationError in the active language."""
    limit = settings.KEFU_ATTACHMENT_MAX_BYTES
    name = clean_filename(upload.name or "")
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            _("“{name}” is too large: the limit is {limit} MB.").format(
                name=name, limit=limit // (1024 * 1024)
            )
        )
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ValidationError(
            _("“{name}” is too large: the limit is {limit} MB.").format(
                name=name, limit=limit // (1024 * 1024)
            )
        )
    if not content:
        raise ValidationError(_("“{name}” is empty.").format(name=name))
    sniffed = sniff(content)
    if sniffed is None:
        raise ValidationError(
            _(
                "“{name}” is not allowed: only images (PNG, JPEG, GIF, WebP) and PDF files can be attached."
            ).format(name=name)
        )
    content_type, extensions = sniffed
    if content_type == _PDF[0]:
        _check_pdf(name, content)
    stem, dot, ext = name.rpartition(".")
    if not dot or f".{ext.lower()}" not in extensions:
        # The content decides; the name is made to agree so that downloads open correctly.
        name = f"{stem or name}{sorted(extensions)[0]}"
    return CheckedFile(
        name=name,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )


def check_uploads(uploads: list[UploadedFile]) -> list[CheckedFile]:
    if len(uploads) > settings.KEFU_ATTACHMENTS_PER_MESSAGE:
        raise ValidationError(
            _("At most {count} files can be attached at once.").format(
                count=settings.KEFU_ATTACHMENTS_PER_MESSAGE
            )
        )
    return [check_upload(upload) for upload in uploads]
