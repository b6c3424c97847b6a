"""PDF uploads are parsed, not only sniffed: fakes, polyglots and active content are refused."""

from __future__ import annotations

import io
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import override

from kefu.conftest import pdf_bytes
from kefu.tickets.attachments import check_upload


def upload(content: bytes, name: str = "statement.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def build_pdf(objects: list[bytes], *, root: int = 1, tail: bytes = b"%%EOF\n") -> bytes:
    """A PDF with a correct cross-reference table around the given object bodies (1-based)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n" % (len(objects) + 1, root, xref))
    out.write(tail)
    return out.getvalue()


PAGES = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
]


def with_catalog(extra: bytes, *more: bytes) -> bytes:
    return build_pdf([b"<< /Type /Catalog /Pages 2 0 R " + extra + b" >>", *PAGES[1:], *more])


def refused(content: bytes) -> str:
    with override("en"), pytest.raises(ValidationError) as caught:
        check_upload(upload(content))
    return " ".join(caught.value.messages)


def test_a_real_pdf_is_accepted():
    assert check_upload(upload(pdf_bytes())).content_type == "application/pdf"
    assert check_upload(upload(build_pdf(PAGES))).content_type == "application/pdf"
    # Links to web pages are ordinary in statements and receipts.
    link = b"<< /Type /Action /S /URI /URI (https://example.com/receipt) >>"
    assert check_upload(upload(with_catalog(b"/OpenAction 4 0 R", link))).content_type == "application/pdf"


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n",
        b"%PDF-1.4\n<!doctype html><svg onload=alert(1)>\n%%EOF",
        b"%PDF-1.4\nthis is just text pretending to be a document\n%%EOF\n",
        b"%PDF-1.4\n" + b"A" * 5000,  # no %%EOF at the end
        # A polyglot: a valid PDF with HTML in a comment right after the header.
        pdf_bytes().replace(b"\n", b"\n%<html><script>alert(1)</script>\n", 1),
        pdf_bytes()[: len(pdf_bytes()) // 2] + b"\n%%EOF\n",  # truncated
    ],
    ids=["html", "svg", "text", "no-eof", "polyglot", "truncated"],
)
def test_files_that_only_start_like_a_pdf_are_refused(content):
    assert "not a valid PDF" in refused(content)


@pytest.mark.parametrize(
    "content",
    [
        with_catalog(b"/OpenAction 4 0 R", b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>"),
        with_catalog(
            b"/OpenAction << /S /JavaScript /JS 4 0 R >>", b"<< /Length 10 >>\nstream\napp.alert()\nendstream"
        ),
        with_catalog(b"/OpenAction << /S /Launch /F (calc.exe) >>"),
        with_catalog(
            b"/Names << /EmbeddedFiles 4 0 R >>",
            b"<< /Names [(a.exe) 5 0 R] >>",
            b"<< /Type /Filespec /F (a.exe) >>",
        ),
        with_catalog(b"/AA << /O << /S /J#61vaScript /J#53 (x) >> >>"),  # #-escaped names
        with_catalog(b"/AcroForm << /Fields [] /XFA 4 0 R >>", b"<< /Length 0 >>\nstream\n\nendstream"),
    ],
    ids=["openaction-js", "js-stream", "launch", "embedded-file", "escaped-names", "xfa"],
)
def test_pdfs_with_active_content_are_refused(content):
    assert "scripts, automatic actions or embedded files" in refused(content)


def test_javascript_hidden_in_a_compressed_object_stream_is_found():
    """The raw bytes show nothing: only a parser that follows the object stream sees the action."""
    inner = b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>"
    header = b"4 0 "
    packed = zlib.compress(header + inner)
    objstm = (
        b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
        % (len(header), len(packed))
        + packed
        + b"\nendstream"
    )
    # A cross-reference stream is needed to point into an object stream; build it by hand.
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        PAGES[1],
        PAGES[2],
    ]
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    objstm_offset = out.tell()
    out.write(b"5 0 obj\n" + objstm + b"\nendobj\n")
    xref_offset = out.tell()
    rows = [b"\x00" + (0).to_bytes(4, "big") + b"\xff\xff"]
    rows += [b"\x01" + o.to_bytes(4, "big") + b"\x00\x00" for o in offsets]
    rows.append(b"\x02" + (5).to_bytes(4, "big") + b"\x00\x00")  # object 4: in stream 5, index 0
    rows.append(b"\x01" + objstm_offset.to_bytes(4, "big") + b"\x00\x00")  # object 5
    rows.append(b"\x01" + xref_offset.to_bytes(4, "big") + b"\x00\x00")  # object 6: this stream
    data = b"".join(rows)
    out.write(
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(data)
        + data
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
    )
    content = out.getvalue()
    assert b"JavaScript" not in content
    assert "scripts, automatic actions or embedded files" in refused(content)
