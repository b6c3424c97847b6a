"""Where Kefu keeps files (attachments today; call recordings and report exports next).

Everything goes through Django's storage API and the ``default`` entry of ``STORAGES``: the
embedded default is a folder in the data dir (``KEFU_MEDIA_ROOT``); ``KEFU_FILE_STORAGE=s3``
selects an S3-compatible object store (django-storages), which several machines share. Files are
never public: a download is answered by :func:`download_response` only after the caller's
permission check, either streamed through Kefu or, with ``KEFU_S3_DOWNLOADS=redirect``, as a
redirect to a signed URL that expires in ``KEFU_S3_SIGNED_URL_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase

S3_BACKEND = "storages.backends.s3.S3Storage"


def storages_setting(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Django's ``STORAGES`` for the registry's values (called by settings.py while it loads)."""
    result: dict[str, dict[str, Any]] = {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    if values["KEFU_FILE_STORAGE"] != "s3":
        # No location: FileSystemStorage follows MEDIA_ROOT, also when a test moves it.
        result["default"] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
        return result
    if not values["KEFU_S3_BUCKET"]:
        raise ImproperlyConfigured("KEFU_S3_BUCKET: must be set when KEFU_FILE_STORAGE is s3")
    try:
        import storages.backends.s3  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured(
            "KEFU_FILE_STORAGE: s3 needs the s3 extra (pip install 'kefu[s3]')"
        ) from None
    options: dict[str, Any] = {
        "bucket_name": values["KEFU_S3_BUCKET"],
        "location": str(values["KEFU_S3_PREFIX"]).strip("/"),
        # Private objects; signed URLs only when a download is redirected.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": values["KEFU_S3_SIGNED_URL_SECONDS"] or 60,
        # Names are random already; never let an upload replace another file silently.
        "file_overwrite": False,
        "signature_version": "s3v4",
    }
    optional = {
        "endpoint_url": values["KEFU_S3_ENDPOINT_URL"],
        "region_name": values["KEFU_S3_REGION"],
        "access_key": values["KEFU_S3_ACCESS_KEY_ID"],
        "secret_key": values["KEFU_S3_SECRET_ACCESS_KEY"],
    }
    options.update({key: value for key, value in optional.items() if value})
    result["default"] = {"BACKEND": S3_BACKEND, "OPTIONS": options}
    return result


def file_store() -> Storage:
    """The configured store: Django's lazy ``default_storage``, so a model field that keeps it
    (FileField calls its storage callable once, at import) still follows ``STORAGES``."""
    return default_storage


def download_response(
    store: Storage, name: str, *, content_type: str, filename: str, as_attachment: bool
) -> HttpResponseBase:
    """A permission-checked file for the browser; the caller has already checked access.

    Active content never renders inline from Kefu's origin: the response is sandboxed by CSP. A
    redirect to the object store (``KEFU_S3_DOWNLOADS=redirect``) asks the store to send the same
    type and a download disposition, and the link expires quickly.
    """
    from django.conf import settings

    disposition = "attachment" if as_attachment else "inline"
    if settings.KEFU_FILE_STORAGE == "s3" and settings.KEFU_S3_DOWNLOADS == "redirect":
        url = store.url(  # type: ignore[call-arg]
            name,
            parameters={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": _content_disposition(disposition, filename),
                "ResponseCacheControl": "private, no-store",
            },
            expire=settings.KEFU_S3_SIGNED_URL_SECONDS or 60,
        )
        response: HttpResponseBase = HttpResponseRedirect(url)
    else:
        try:
            handle = store.open(name, "rb")
        except (FileNotFoundError, OSError) as exc:
            raise Http404 from exc
        response = FileResponse(
            handle, content_type=content_type, as_attachment=as_attachment, filename=filename
        )
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def _content_disposition(disposition: str, filename: str) -> str:
    from django.utils.http import content_disposition_header

    return content_disposition_header(disposition == "attachment", filename) or disposition
