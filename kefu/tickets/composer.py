"""Panels a channel adds to the agent's composer on a case (the ticket core never imports a
channel: a channel app registers a provider in its ``AppConfig.ready``).

A provider returns an object with a ``template`` attribute (the template included in the
composer, which receives the object as ``panel``) or None when it has nothing to say about the
case: WhatsApp's 24-hour window and its templates (``kefu.whatsapp``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kefu.accounts.models import User
from kefu.tickets.models import Ticket

Provider = Callable[[Ticket, User], Any]
_providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def panels(ticket: Ticket, user: User) -> list[Any]:
    return [panel for provider in _providers if (panel := provider(ticket, user)) is not None]
