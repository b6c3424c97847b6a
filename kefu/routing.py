"""WebSocket routes of every app (live chat adds its consumers here)."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
