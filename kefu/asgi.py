"""ASGI entry point: HTTP through Django, WebSocket through Channels routing."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

import django  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402


class SyncStackHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain and the view run as one call in a worker
    thread. Kefu's views and most middleware are synchronous: in Django's async mode each
    middleware's request and response hooks hop to a thread and back (about twenty hops a
    page); here a page costs one. The request is still read and the response sent on the
    event loop, and an async view would still work (Django adapts it)."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


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
