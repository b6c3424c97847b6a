"""Files through Django's storage API: the data dir by default, an S3-compatible store when set.

The S3 tests run against a local server speaking the S3 API (moto's standalone server, over
HTTP): uploads through the portal land in the bucket and nowhere on disk, downloads still pass
the permission check, and signed redirects carry a short expiry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kefu import conf
from kefu.conftest import login, pdf_bytes, png_bytes
from kefu.storage import file_store, storages_setting
from kefu.tests.s3server import S3Server, running_s3_server
from kefu.tickets.models import Attachment, Category

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with running_s3_server() as server:
        yield server


@pytest.fixture
def on_s3(settings, s3_server) -> S3Server:
    """Kefu configured as an operator would: the KEFU_* variables, through the registry."""
    values = conf.load(s3_server.environ(prefix="t"))
    for name in [n for n in values if n.startswith(("KEFU_S3_", "KEFU_FILE_"))]:
        setattr(settings, name, values[name])
    settings.STORAGES = storages_setting(values)
    return s3_server


def _file_a_ticket(customer, *files: SimpleUploadedFile) -> Attachment:
    client = login(customer)
    response = client.post(
        reverse("tickets:portal_new"),
        {
            "category": Category.objects.get(slug="deposit-not-credited").pk,
            "title": "没到账",
            "description": "见截图",
            "attachments": list(files),
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return Attachment.objects.latest("id")


def test_the_embedded_default_keeps_files_in_the_media_root(settings, alice):
    assert isinstance(file_store(), FileSystemStorage)
    item = _file_a_ticket(alice, SimpleUploadedFile("p.png", png_bytes(), "image/png"))
    stored = Path(settings.MEDIA_ROOT) / item.file.name
    assert stored.read_bytes() == png_bytes()


def test_s3_uploads_land_in_the_bucket_and_not_on_disk(settings, on_s3, alice):
    item = _file_a_ticket(alice, SimpleUploadedFile("p.png", png_bytes(), "image/png"))
    key = f"t/{item.file.name}"
    assert key in on_s3.keys("t/")
    body = on_s3.client().get_object(Bucket=on_s3.bucket, Key=key)["Body"].read()
    assert body == png_bytes()
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))


def test_s3_downloads_stream_only_to_those_allowed(on_s3, alice, bob):
    item = _file_a_ticket(alice, SimpleUploadedFile("bank.pdf", pdf_bytes(), "application/pdf"))
    url = reverse("tickets:attachment", args=[item.public_id])
    response = login(alice).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes()
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, no-store"
    assert "attachment" in response["Content-Disposition"]
    assert login(bob).get(url).status_code == 404


def test_s3_redirects_to_a_short_lived_signed_url_after_the_check(settings, on_s3, alice, bob):
    settings.KEFU_S3_DOWNLOADS = "redirect"
    settings.KEFU_S3_SIGNED_URL_SECONDS = 45
    item = _file_a_ticket(alice, SimpleUploadedFile("p.png", png_bytes(), "image/png"))
    url = reverse("tickets:attachment", args=[item.public_id])
    assert login(bob).get(url).status_code == 404
    response = login(alice).get(url)
    assert response.status_code == 302
    target = response["Location"]
    query = parse_qs(urlsplit(target).query)
    assert target.startswith(on_s3.endpoint_url)
    assert query["X-Amz-Expires"] == ["45"] and "X-Amz-Signature" in query
    assert query["response-content-type"] == ["image/png"]
    with urlopen(target, timeout=10) as fetched:  # noqa: S310 - the local test server
        assert fetched.read() == png_bytes()


def test_a_missing_object_is_a_404_not_a_500(on_s3, alice):
    item = _file_a_ticket(alice, SimpleUploadedFile("p.png", png_bytes(), "image/png"))
    on_s3.client().delete_object(Bucket=on_s3.bucket, Key=f"t/{item.file.name}")
    response = login(alice).get(reverse("tickets:attachment", args=[item.public_id]))
    assert response.status_code == 404


def test_s3_without_a_bucket_stops_the_start_with_one_line():
    values = conf.load({"KEFU_FILE_STORAGE": "s3"})
    with pytest.raises(ImproperlyConfigured, match="^KEFU_S3_BUCKET: must be set"):
        storages_setting(values)


def test_a_bad_storage_kind_is_refused_by_the_registry():
    with pytest.raises(ImproperlyConfigured, match="KEFU_FILE_STORAGE"):
        conf.load({"KEFU_FILE_STORAGE": "ftp"})
