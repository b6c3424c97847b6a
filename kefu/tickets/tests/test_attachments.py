"""Evidence uploads: images and PDF only, sniffed from content, size-limited."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kefu.conftest import login, pdf_bytes, png_bytes
from kefu.tickets.attachments import check_upload, clean_filename
from kefu.tickets.models import Category, Ticket

pytestmark = pytest.mark.django_db

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_an_exe_renamed_png_is_refused():
    with pytest.raises(ValidationError) as info:
        check_upload(upload("screenshot.png", EXE))
    assert "screenshot.png" in info.value.messages[0]


def test_a_truncated_png_is_refused():
    with pytest.raises(ValidationError):
        check_upload(upload("cut.png", png_bytes()[:40]))


def test_an_html_file_claiming_to_be_pdf_is_refused():
    with pytest.raises(ValidationError):
        check_upload(upload("a.pdf", b"<html><script>alert(1)</script>", "application/pdf"))


def test_oversized_files_are_refused(settings):
    settings.KEFU_ATTACHMENT_MAX_BYTES = 1024
    with pytest.raises(ValidationError):
        check_upload(upload("big.png", png_bytes((200, 200)) + b"\0" * 2048))


def test_png_and_pdf_are_accepted_and_named_after_their_content():
    png = check_upload(upload("shot.PNG", png_bytes()))
    assert png.content_type == "image/png" and png.name == "shot.PNG"
    pdf = check_upload(upload("statement", pdf_bytes(), "application/octet-stream"))
    assert pdf.content_type == "application/pdf" and pdf.name == "statement.pdf"


def test_file_names_cannot_walk_paths():
    assert clean_filename("../../etc/passwd") == "passwd"
    assert "/" not in clean_filename("..\\..\\x.png")


def test_portal_refuses_a_disguised_upload_and_keeps_the_form(alice):
    client = login(alice)
    category = Category.objects.get(slug="deposit-not-credited")
    response = client.post(
        reverse("tickets:portal_new"),
        {
            "category": category.pk,
            "title": "没到账",
            "description": "见截图",
            "attachments": [upload("proof.png", EXE)],
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "只能上传图片" in page and "没到账" in page and "见截图" in page
    assert Ticket.objects.count() == 0


def test_portal_accepts_images_and_shows_the_case_number(alice):
    client = login(alice)
    category = Category.objects.get(slug="deposit-not-credited")
    response = client.post(
        reverse("tickets:portal_new"),
        {
            "category": category.pk,
            "title": "没到账",
            "description": "见截图",
            "attachments": [
                upload("proof.png", png_bytes()),
                upload("bank.pdf", pdf_bytes(), "application/pdf"),
            ],
        },
        follow=True,
    )
    ticket = Ticket.objects.get()
    assert ticket.attachments.count() == 2
    assert ticket.case_number in response.content.decode()
