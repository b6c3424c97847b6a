"""Fixtures shared by every app's tests: people, teams, a category, API clients."""

from __future__ import annotations

import functools
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
def _default_language():
    """Every test starts in the site's default language: a test (or code under test) that
    activates English in this thread must not turn the next test's Chinese labels English."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True, scope="session")
def _own_job_queue(tmp_path_factory):
    """The job queue as installed (Huey on a SQLite file), but a file of this test run's own, so
    runs side by side (SQLite and PostgreSQL, several checkouts) never take each other's jobs.
    Jobs queued by tests wait there; only tests that start a consumer or drain it run them."""
    from huey.storage import SqliteStorage

    from kefu.jobs.engine import QUEUE_NAME, huey

    huey.storage = SqliteStorage(QUEUE_NAME, filename=str(tmp_path_factory.mktemp("jobs") / "jobs.sqlite3"))


@pytest.fixture
def job_queue():
    """The job queue, empty before and after the test."""
    from kefu.jobs.engine import huey

    huey.flush()
    yield huey
    huey.flush()


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from kefu.refcache import forget_all

    cache.clear()
    forget_all()  # a rolled-back test's categories, canned replies and staff must not outlive it
    yield
    cache.clear()
    forget_all()


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
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {do_create_api_token(user=user)}", HTTP_ACCEPT_LANGUAGE=language
    )


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@functools.cache
def pdf_bytes() -> bytes:
    """A real one-page PDF (uploads are parsed, not only sniffed); the same bytes on every call."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- headless Chromium (Debian's package, driven by Playwright; never a browser download) ----

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium; skipped only where Chromium is absent and KEFU_REQUIRE_BROWSER is unset."""
    import os
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        if os.environ.get("KEFU_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but KEFU_REQUIRE_BROWSER is set")
        pytest.skip(f"{CHROMIUM} is not installed")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still plain synchronous code, so Django's async-safety check does not apply.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def browser_login(browser, base_url: str, email: str, password: str = PASSWORD, locale: str = "zh-CN"):
    """A fresh browser context signed in through the real login form."""
    context = browser.new_context(locale=locale)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return context, page


@pytest.fixture(scope="session", autouse=True)
def _release_worker_thread_connections(django_db_setup, django_db_blocker):
    """Close what asgiref's shared worker thread still holds (consumers' database calls ran
    there) before the test database is dropped; otherwise PostgreSQL refuses to drop it."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    with django_db_blocker.unblock():
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
