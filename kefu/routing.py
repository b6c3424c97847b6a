"""WebSocket routes of every app (live chat adds its consumers here)."""

from django.apps import apps
from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []

# Importing consumers imports models, which only works for an installed app.
if apps.is_installed("kefu.chat"):
    from kefu.chat.routing import websocket_urlpatterns as chat_websocket_urlpatterns

    websocket_urlpatterns += chat_websocket_urlpatterns
