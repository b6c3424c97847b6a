"""Site-wide pieces every page shares: the icon."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def fetch(client: Client, path: str):
    response = client.get(path, follow=True)
    body = response.getvalue()  # the joined streaming_content of a streaming response
    return response, body


def test_favicon_ico_leads_to_the_icon() -> None:
    """A browser's default /favicon.ico request ends at an SVG icon, not a 404."""
    response, body = fetch(Client(), "/favicon.ico")
    assert response.status_code == 200
    assert response.redirect_chain and response.redirect_chain[0][1] == 301
    assert response["Content-Type"].startswith("image/svg+xml")
    assert body.lstrip().startswith(b"<svg")


def test_pages_link_the_icon() -> None:
    page = Client().get("/help/").content.decode()
    match = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert match, "no icon link"
    response, _ = fetch(Client(), match.group(1))
    assert response.status_code == 200
