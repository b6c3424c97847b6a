"""Fixtures shared by every app's tests: people, teams, a category, API clients."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from kefu.accounts.actions import do_add_team_member, do_create_api_token, do_ensure_user
from kefu.accounts.models import Role, Team, User

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def make_user(email: str, role: str = Role.CUSTOMER, teams: tuple[str, ...] = ()) -> User:
    user = do_ensure_user(email=email, role=role, password=PASSWORD)
    for slug in teams:
        do_add_team_member(team=Team.objects.get(slug=slug), user=user)
    return user


@pytest.fixture
def alice(db) -> User:
    return make_user("alice@example.com")


@pytest.fixture
def bob(db) -> User:
    return make_user("bob@example.com")


@pytest.fixture
def agent(db) -> User:
    """A tier-1 agent in the accounts and assets teams."""
    return make_user("agent@example.com", Role.AGENT, ("accounts", "assets"))


@pytest.fixture
def tech_agent(db) -> User:
    """An agent who belongs only to technical support."""
    return make_user("tech@example.com", Role.AGENT, ("tech",))


@pytest.fixture
def specialist(db) -> User:
    return make_user("specialist@example.com", Role.SPECIALIST, ("assets", "security"))


@pytest.fixture
def supervisor(db) -> User:
    return make_user("supervisor@example.com", Role.SUPERVISOR)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(user: User, language: str = "zh-hans") -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {do_create_api_token(user=user)}", HTTP_ACCEPT_LANGUAGE=language)


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
