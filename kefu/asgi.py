"""ASGI entry point: HTTP through Django, WebSocket through Channels routing."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

import django  # noqa: E402
from asgiref.sync import SyncToAsync  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core import signals  # noqa: E402
from django.core.exceptions import RequestAborted  # noqa: E402
from django.core.handlers.asgi import ASGIHandler, get_script_prefix  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.urls import set_script_prefix  # noqa: E402


def release_connections() -> None:
    """After (and before) a request in a request thread: a pooled PostgreSQL connection goes back
    to the pool, a broken or aged-out one is closed. A healthy SQLite connection stays open for
    the thread's next request: it is a file handle, and opening one (the pragmas, the functions
    Django registers) cost ~1.5 ms of CPU, a quarter of a phone webhook's."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue
        if conn.vendor == "sqlite" and conn.connection is not None and not conn.errors_occurred:
            continue
        conn.close_if_unusable_or_obsolete()


class _RequestCall(SyncToAsync):
    """A request's synchronous work in a request thread, with ``release_connections`` before
    and after. Django's own clean-up (``request_finished``) runs in another thread, where it
    cannot reach this thread's connections."""

    def thread_handler(self, loop, *args, **kwargs):
        release_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            release_connections()


# SQLite: enough threads that a slow page (a report, an export) does not hold up the others and
# reads overlap, few enough that writers do not pile up on the database's one write lock.
SQLITE_REQUEST_THREADS = 4

_request_threads: ThreadPoolExecutor | None = None


def request_thread_count() -> int:
    """On a database server as many as the chat's database threads (half the connection pool,
    the other half left to them and the jobs); on SQLite SQLITE_REQUEST_THREADS."""
    if connection.vendor == "sqlite":
        return SQLITE_REQUEST_THREADS
    from kefu.chat.dbcall import server_thread_count

    return server_thread_count()


def request_threads() -> ThreadPoolExecutor:
    """The process's fixed pool of threads that run requests."""
    global _request_threads
    if _request_threads is None:
        _request_threads = ThreadPoolExecutor(
            max_workers=request_thread_count(), thread_name_prefix="kefu-request"
        )
    return _request_threads


class SyncStackHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain and the view run as one call in a worker
    thread. Kefu's views and most middleware are synchronous: in Django's async mode each
    middleware's request and response hooks hop to a thread and back (about twenty hops a
    page); here a page costs one. The request is still read and the response sent on the
    event loop, and an async view would still work (Django adapts it).

    Which thread: Django's handler wraps every request in a ``ThreadSensitiveContext``, which
    gives each request a thread of its own — created and joined per request (the event loop
    blocks in ``Thread.start`` until it runs), with a new database connection, and with no
    bound on how many run at once. Measured with py-spy under 50 concurrent phone calls: on
    SQLite those threads convoyed on the database's one write lock, whose busy-wait sleeps
    grow to 100 ms, and webhook answers waited up to a second. So the per-request context is
    skipped and requests run on a fixed pool of threads (``request_threads``): several at
    once, so a slow page does not hold up the others, each with its own (on PostgreSQL
    pooled) connection, but a bounded number of them."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)  # without Django's per-request thread context

    async def get_response_async(self, request):
        return await _RequestCall(self.get_response, thread_sensitive=False, executor=request_threads())(
            request
        )

    async def handle(self, scope, receive, send):
        """Django's ``handle`` without its two other thread hops a request. Django sends
        ``request_started`` and closes the response (``request_finished``) through
        ``sync_to_async``: a hand-off to a thread and back each, on top of the request's own,
        and a task watching for the client's disconnect. Django's own receivers of those
        signals act on the calling thread's database connections and caches, and in that
        thread there are none of the request's (``release_connections`` returns those in the
        request thread; a cache's ``close`` is a no-op for LocMem and Redis). While they are the
        only receivers, the signals are sent right here on the event loop, where they find
        nothing to do either; a request's view runs in its thread and cannot be cancelled, so a
        disconnect only matters while a streaming response is sent (watched then). Any other
        receiver gets Django's own handling, hops included. Each hop is a queue put, a thread
        woken, a future chained back and the loop woken: CPU an API create paid for nothing
        (py-spy and docs/benchmarks.md, issue 13)."""
        if not (
            _only_djangos_receivers(signals.request_started)
            and _only_djangos_receivers(signals.request_finished)
        ):
            await super().handle(scope, receive, send)
            return
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        try:
            if request is None:
                assert error_response is not None  # create_request gives one or the other
                await self.send_response(error_response, send)
                error_response.close()
                return
            response = await self.run_get_response(request)
            if response.streaming:
                await self._send_watching_disconnect(response, receive, send)
            else:
                await self.send_response(response, send)  # uvicorn drops it if the client left
            response.close()
        finally:
            body_file.close()

    async def _send_watching_disconnect(self, response, receive, send) -> None:
        """Send a streaming response, stopped if the client disconnects (Django's behaviour)."""
        sending = asyncio.create_task(self.send_response(response, send))
        watching = asyncio.create_task(self.listen_for_disconnect(receive))
        await asyncio.wait([watching, sending], return_when=asyncio.FIRST_COMPLETED)
        for task in (watching, sending):
            if not task.done():
                task.cancel()
            try:
                await task
            except (asyncio.CancelledError, RequestAborted):
                pass


def _djangos_receivers() -> frozenset:
    """The receivers Django itself connects to request_started / request_finished."""
    from django.core.cache import close_caches
    from django.core.handlers.base import reset_urlconf
    from django.db import close_old_connections, reset_queries

    return frozenset({reset_queries, close_old_connections, close_caches, reset_urlconf})


_DJANGOS_RECEIVERS: frozenset = frozenset()


def _only_djangos_receivers(signal) -> bool:
    global _DJANGOS_RECEIVERS
    if not _DJANGOS_RECEIVERS:
        _DJANGOS_RECEIVERS = _djangos_receivers()
    sync_receivers, async_receivers = signal._live_receivers(SyncStackHandler)
    return not async_receivers and all(r in _DJANGOS_RECEIVERS for r in sync_receivers)


django.setup(set_prefix=False)
django_asgi_app = SyncStackHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402

from kefu.routing import websocket_urlpatterns  # noqa: E402


async def lifespan(scope, receive, send):
    """The ASGI lifespan: start-up work for each serving process (uvicorn runs it in every
    worker it spawns under ``kefu serve --workers N``, not only in its supervisor)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            import sys

            from kefu.serve import SWITCH_INTERVAL, warm_up

            sys.setswitchinterval(SWITCH_INTERVAL)  # a spawned worker does not inherit it
            warm_up()  # search index and intent model, in a thread; settles memory afterwards
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "lifespan": lifespan,
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
