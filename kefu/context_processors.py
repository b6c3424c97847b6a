from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def brand(request: HttpRequest) -> dict[str, str]:
    return {"brand_name": settings.KEFU_BRAND_NAME, "support_email": settings.KEFU_SUPPORT_EMAIL}
