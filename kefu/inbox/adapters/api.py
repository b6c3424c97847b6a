"""The REST API (``/api/v1``): the same steps as the portal, with a token instead of a session."""

from __future__ import annotations

from typing import ClassVar

from kefu.inbox.adapters.portal import FormAdapter
from kefu.inbox.models import InboxKind
from kefu.tickets.models import Channel


class ApiAdapter(FormAdapter):
    kind: ClassVar[str] = InboxKind.API
    channel: ClassVar[str] = Channel.API
