"""Template filters of the secret guard."""

from __future__ import annotations

from django import template

from kefu.trust.logguard import screen_text

register = template.Library()


@register.filter
def without_secrets(value: object) -> str:
    """``value`` with seed phrases and keys hidden, also percent-encoded ones (a URL's query):
    for pages that echo the current address back, such as the language switch's ``next``."""
    return screen_text(str(value))
