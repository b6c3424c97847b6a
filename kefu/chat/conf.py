"""Live-chat settings.

Read at call time (never at import) so that tests can override them with ``settings``;
each is declared with its default and meaning in ``kefu.conf`` and filled by settings.py.
"""

from __future__ import annotations

from django.conf import settings


def chat_setting(name: str) -> int | float:
    """The project's value for ``name`` (a ``KEFU_CHAT_*`` setting)."""
    return getattr(settings, name)


def chat_seconds(name: str) -> float:
    return float(chat_setting(name))
