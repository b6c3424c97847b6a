"""Fixtures for live-chat tests: agents online, WebSocket clients, a live ASGI server."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from django.apps import apps

if not apps.is_installed("kefu.chat"):
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(autouse=True)
def _fresh_chat_caches(settings):
    """Each test starts with cold wait/calendar caches and no background sweep."""
    if apps.is_installed("kefu.chat"):
        from kefu.chat import selectors
        from kefu.chat.consumers import queue_board

        selectors.clear_caches()
        queue_board.clear()
    yield
    if apps.is_installed("kefu.chat"):
        from kefu.chat import selectors

        selectors.clear_caches()


def set_online(user, capacity: int = 3, languages: str = ""):
    from kefu.chat.actions import do_set_presence

    return do_set_presence(agent=user, status="online", capacity=capacity, languages=languages)


def queued_chat(
    customer, *, intent: str = "deposit_not_credited", language: str = "zh-hans", text: str = "你好"
):
    """A conversation handed off by the bot: queued for the intent's team (assigned if an agent is free).

    The bot is skipped here; tests of the bot-first path drive the widget instead.
    """
    from kefu.chat.actions import check_customer_message, do_enqueue, do_start_conversation
    from kefu.chat.models import ChatConversation

    conversation = do_start_conversation(customer=customer, language=language)
    conversation = do_enqueue(conversation=conversation, intent=intent, slots={}, security=False)
    if text:
        check_customer_message(conversation=conversation, customer=customer, client_id="", text=text)
    return ChatConversation.objects.get(pk=conversation.pk)


def run_async(function, *args: Any, timeout: float = 90) -> Any:
    """Run ``function(*args)`` to completion on a fresh event loop in its own thread.

    Not on the test's thread: Playwright's sync API (the session-wide ``browser``) keeps an
    event loop registered there, and a second loop refuses to start beside it.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        from channels.db import database_sync_to_async
        from django.db import connections

        try:
            outcome["value"] = asyncio.run(function(*args))
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc
        finally:
            # The database thread's connection would keep the test database from being dropped.
            asyncio.run(database_sync_to_async(connections.close_all)())
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"{function.__name__} did not finish in {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# --- WebSocket clients -----------------------------------------------------------------------------


def application():
    """The project's WebSocket routes, with the test's user put in the scope (no cookie needed)."""
    from channels.routing import URLRouter

    from kefu.routing import websocket_urlpatterns

    return URLRouter(websocket_urlpatterns)


@asynccontextmanager
async def ws_client(path: str, user=None):
    """A connected ``WebsocketCommunicator`` as ``user`` (anonymous if None)."""
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    from kefu.chat.tests.communicator import WebsocketCommunicator

    communicator = WebsocketCommunicator(application(), path)
    communicator.scope["user"] = user or AnonymousUser()
    communicator.scope["session"] = SessionStore()  # a fresh sign-in (no second factor needed)
    connected, _subprotocol = await communicator.connect()
    assert connected
    try:
        yield communicator
    finally:
        await communicator.disconnect()


async def receive_until(communicator, predicate, timeout: float = 30.0) -> dict[str, Any]:
    """Frames until one matches ``predicate`` (others are skipped); fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("no matching frame arrived")
        frame = await communicator.receive_json_from(timeout=remaining)
        if predicate(frame):
            return frame
        if frame.get("type") == "error":
            raise AssertionError(f"unexpected error frame: {frame}")


def of_type(kind: str, **fields: Any):
    return lambda frame: frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items())


# --- a live server -----------------------------------------------------------------------------------


class LiveASGIServer:
    """The real ASGI application under uvicorn in a thread, on a free port.

    ``channels.testing.ChannelsLiveServerTestCase`` needs daphne; uvicorn is what ``kefu serve``
    runs. The server's event loop runs inside ``async_to_sync`` so that every synchronous
    database call of the server happens in this one thread (as under ``kefu serve``).
    """

    def __init__(self) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            "kefu.asgi:application", lifespan="off", log_level="warning", ws="websockets-sansio"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _run(self) -> None:
        from asgiref.sync import async_to_sync
        from django.db import connections

        try:
            async_to_sync(self.server.serve)(sockets=[self.socket])
        finally:
            connections.close_all()

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live ASGI server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture
def asgi_server(transactional_db) -> Iterator[LiveASGIServer]:
    server = LiveASGIServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        from kefu.chat import events

        events._publisher.loop = None  # the server's loop is gone


def session_cookie(user) -> str:
    """A real session for ``user``, as the login form would create it."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def ws_connect(server: LiveASGIServer, path: str, user=None):
    """A real WebSocket connection (the ``websockets`` client) with the user's session cookie."""
    from websockets.asyncio.client import connect

    headers = {"Origin": server.url}
    if user is not None:
        from asgiref.sync import sync_to_async

        headers["Cookie"] = await sync_to_async(session_cookie)(user)
    return await connect(server.ws_url + path, additional_headers=headers, open_timeout=10)


async def ws_receive_until(websocket, predicate, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("no matching frame arrived")
        frame = json.loads(await asyncio.wait_for(websocket.recv(), timeout=remaining))
        if predicate(frame):
            return frame


def business_calendar(
    *,
    always_open: bool = False,
    weekly: dict[int, tuple[Any, Any]] | None = None,
    days: tuple[dict[str, Any], ...] = (),
    time_zone: str = "Asia/Shanghai",
):
    """A business calendar (kefu.calendars) with these hours, no official holidays and ``days``
    as its overrides. No weekly hours and not 24/7: closed."""
    from kefu.calendars.models import BusinessCalendar, CalendarHours, CalendarOverride

    calendar = BusinessCalendar.objects.create(
        name=f"test-{BusinessCalendar.objects.count()}",
        time_zone=time_zone,
        always_open=always_open,
        holiday_set="none",
    )
    for weekday, (opens_at, closes_at) in (weekly or {}).items():
        CalendarHours.objects.create(calendar=calendar, weekday=weekday, opens_at=opens_at, closes_at=closes_at)
    for day in days:
        CalendarOverride.objects.create(calendar=calendar, **day)
    return calendar


def service_hours(
    channel: str = "chat",
    team=None,
    *,
    name: str = "Hours",
    **hours: Any,
):
    """A channel's hours for a team (or the default, team None): a business calendar of their own
    (:func:`business_calendar`) named by the channel's service calendar."""
    from kefu.chat.models import ServiceCalendar
    from kefu.chat.selectors import clear_caches

    calendar = business_calendar(**hours)
    ServiceCalendar.objects.update_or_create(
        team=team, channel=channel, defaults={"name": name, "business_calendar": calendar}
    )
    clear_caches()
    return calendar
