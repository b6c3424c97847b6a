"""Fixtures for the bot's tests."""

from __future__ import annotations

import pytest
from django.apps import apps


@pytest.fixture(autouse=True)
def _fresh_live_chat_caches():
    """Whether a hand-off goes to live chat depends on agents online, which live chat caches
    for a few seconds per process: each test starts and ends with cold caches."""
    if apps.is_installed("kefu.chat"):
        from kefu.chat.selectors import clear_caches

        clear_caches()
        yield
        clear_caches()
    else:
        yield
