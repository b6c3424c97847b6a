"""WebSocket routes of live chat (included by ``kefu/routing.py``)."""

from django.urls import path

from kefu.chat.consumers import AgentChatConsumer, CustomerChatConsumer

websocket_urlpatterns = [
    path("ws/chat/", CustomerChatConsumer.as_asgi()),
    path("ws/chat/agent/", AgentChatConsumer.as_asgi()),
]
