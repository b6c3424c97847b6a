"""ASGI entry point: HTTP through Django, WebSocket through Channels routing."""

import os
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

import django  # noqa: E402
from asgiref.sync import SyncToAsync  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.db import connection, connections  # noqa: E402


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
