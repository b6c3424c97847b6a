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
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

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


def _scope(path: str) -> dict:
    """An HTTP GET's ASGI scope, as uvicorn builds it."""
    return {
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


def get(app, path: str) -> tuple[int, bytes]:
    async def run() -> tuple[int, bytes]:
        loop_threads.add(threading.get_ident())
        scope = _scope(path)
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


request_thread_names: list[str] = []


class ThreadNameRecorder:
    """Test middleware: notes the name of the thread each request runs in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_thread_names.append(threading.current_thread().name)
        return self.get_response(request)


def get_many(app, path: str, count: int) -> list[int]:
    """``count`` requests at once on one event loop (as uvicorn serves them)."""

    async def run() -> list[int]:
        async def one() -> int:
            scope = _scope(path)
            communicator = ApplicationCommunicator(app, scope)
            await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
            start = await communicator.receive_output(30)
            while (await communicator.receive_output(30)).get("more_body"):
                pass
            await communicator.wait()
            return start["status"]

        return list(await asyncio.gather(*(one() for _ in range(count))))

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_requests_run_on_a_fixed_set_of_threads_not_a_new_thread_each(settings):
    """Django's handler gave every request a thread of its own (a per-request
    ThreadSensitiveContext): unbounded concurrent writers convoying on SQLite's lock, a thread
    started and joined per request. Requests now share the process's fixed pool."""
    from kefu.asgi import request_thread_count

    request_thread_names.clear()
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "kefu.tests.test_asgi.ThreadNameRecorder"]
    app = SyncStackHandler()
    assert get_many(app, "/help/", 12) == [200] * 12
    assert get_many(app, "/help/", 12) == [200] * 12
    assert len(request_thread_names) == 24
    names = set(request_thread_names)
    assert all(name.startswith("kefu-request") for name in names), names
    assert len(names) <= request_thread_count()


slow_entered = threading.Event()
fast_done = threading.Event()


def slow_view(request):
    """A slow page (a report, an export): it finishes once the fast request has been served."""
    slow_entered.set()
    return HttpResponse(b"overlapped" if fast_done.wait(30) else b"blocked")


def fast_view(request):
    fast_done.set()
    return HttpResponse(b"fast")


async def _chunks():
    for chunk in (b"one ", b"two ", b"three"):
        yield chunk


def streaming_view(request):
    return StreamingHttpResponse(_chunks())


urlpatterns = [path("slow/", slow_view), path("fast/", fast_view), path("stream/", streaming_view)]


@pytest.mark.django_db(transaction=True)
def test_a_slow_request_does_not_hold_up_a_fast_one(settings):
    settings.ROOT_URLCONF = "kefu.tests.test_asgi"
    slow_entered.clear()
    fast_done.clear()
    app = SyncStackHandler()

    async def run() -> tuple[bytes, bytes]:
        async def fetch(path: str) -> bytes:
            communicator = ApplicationCommunicator(app, _scope(path))
            await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
            await communicator.receive_output(60)
            body = b""
            while True:
                message = await communicator.receive_output(60)
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            await communicator.wait()
            return body

        slow = asyncio.ensure_future(fetch("/slow/"))
        # The fast request is sent only once the slow one is inside its view.
        assert await asyncio.get_running_loop().run_in_executor(None, slow_entered.wait, 30)
        fast = await fetch("/fast/")
        return await slow, fast

    with ThreadPoolExecutor(max_workers=1) as pool:
        slow, fast = pool.submit(asyncio.run, run()).result(timeout=90)
    assert fast == b"fast"
    assert slow == b"overlapped"


class CountingExecutor(ThreadPoolExecutor):
    """asgiref's executor for thread-sensitive calls outside a request context, counting hand-offs."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.calls = 0

    def submit(self, fn, /, *args, **kwargs):
        self.calls += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_a_request_hands_off_to_one_thread_while_only_djangos_receivers_listen(monkeypatch):
    """Django's handler sent request_started and closed the response (request_finished) through
    sync_to_async: two more hand-offs to a thread and back a request, for receivers that have
    nothing to do there. Another receiver still gets Django's handling, in a thread."""
    from asgiref.sync import SyncToAsync
    from django.core.signals import request_finished

    hops = CountingExecutor()
    monkeypatch.setattr(SyncToAsync, "single_thread_executor", hops)
    app = SyncStackHandler()
    try:
        assert get(app, "/no-such-page/")[0] == 404
        assert hops.calls == 0  # was 2

        heard: list[int] = []

        def receiver(sender, **kwargs) -> None:
            heard.append(threading.get_ident())

        request_finished.connect(receiver)
        try:
            assert get(app, "/no-such-page/")[0] == 404
        finally:
            request_finished.disconnect(receiver)
        assert hops.calls >= 1
        assert len(heard) == 1 and heard[0] in {thread.ident for thread in hops._threads}  # off the loop
    finally:
        hops.shutdown()


@pytest.mark.django_db(transaction=True)
def test_a_streaming_response_is_sent_whole_through_the_handler(settings):
    """Streaming responses are sent with Django's disconnect watch; the client gets every chunk."""
    settings.ROOT_URLCONF = "kefu.tests.test_asgi"
    assert get(SyncStackHandler(), "/stream/") == (200, b"one two three")
