"""The HTTP side of the ASGI application: one worker-thread call per page, pooled connections."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from inspect import iscoroutinefunction

import pytest
from asgiref.testing import ApplicationCommunicator
from django.conf import settings as django_settings
from django.db import connection

from kefu.asgi import SyncStackHandler

seen: list[tuple[str, int]] = []


class ThreadRecorder:
    """Test middleware: notes the thread its request and response hooks run in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seen.append(("request", threading.get_ident()))
        response = self.get_response(request)
        seen.append(("response", threading.get_ident()))
        return response


loop_threads: set[int] = set()


def get(app, path: str) -> tuple[int, bytes]:
    async def run() -> tuple[int, bytes]:
        loop_threads.add(threading.get_ident())
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"accept-language", b"en")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(10)
        body = b""
        while True:
            message = await communicator.receive_output(10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await communicator.wait()
        return start["status"], body

    # On a thread of its own: the browser tests leave an event loop registered on this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_middleware_and_view_run_in_one_thread_off_the_event_loop(settings):
    seen.clear()
    loop_threads.clear()
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "kefu.tests.test_asgi.ThreadRecorder"]
    app = SyncStackHandler()
    # Built for synchronous calls: no middleware hook hops between the loop and a thread.
    assert not iscoroutinefunction(app._middleware_chain)
    status, body = get(app, "/help/")
    assert status == 200
    assert b"<html" in body.lower()
    assert [kind for kind, _ in seen] == ["request", "response"]
    threads = {ident for _, ident in seen}
    assert len(threads) == 1
    assert threads.isdisjoint(loop_threads), "the page must not run on the event loop's thread"


@pytest.mark.django_db(transaction=True)
def test_a_missing_page_is_still_a_404_through_the_handler():
    status, _ = get(SyncStackHandler(), "/no-such-page/")
    assert status == 404


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL connection pool")
@pytest.mark.django_db(transaction=True)
def test_postgresql_pages_borrow_pooled_connections_instead_of_opening_new_ones():
    assert django_settings.DATABASES["default"]["CONN_MAX_AGE"] == 0
    app = SyncStackHandler()
    get(app, "/help/")  # warm: the pool opens its first connections
    before = connection.pool.get_stats()["connections_num"]
    for _ in range(10):
        assert get(app, "/help/")[0] == 200
    # Before the pool every request under ASGI opened (and left open) a connection of its own.
    assert connection.pool.get_stats()["connections_num"] - before <= 1
