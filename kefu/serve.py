"""Run the ASGI application (HTTP and WebSocket) under uvicorn, with in-process side services."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

# The database thread gives up the GIL in every SQLite call and then waits for the busy event
# loop to hand it back — up to Python's switch interval (5 ms) each time, several times per
# chat message. 1 ms keeps chat writes from queueing behind WebSocket work.
SWITCH_INTERVAL = 0.001


def uvicorn_options(*, log_level: str = "info") -> dict[str, Any]:
    """How Kefu runs under uvicorn (``kefu serve`` and the chat benchmark's servers)."""
    return {
        "log_level": log_level,
        "ws": "websockets-sansio",
        # Chat frames are a few hundred bytes: compressing each costs more CPU than it saves.
        "ws_per_message_deflate": False,
        "lifespan": "off",
    }


def run_server(*, host: str, port: int, workers: int = 1) -> None:
    from kefu.chat.tasks import start_background_tasks
    from kefu.mail.worker import start_mail_services

    mail = start_mail_services()  # outbox sender, pending inbound mail, SMTP/IMAP when configured
    start_background_tasks()  # chat: idle reminders and closes, abandoned queues, backlog dispatch
    _warm_up_bot()
    print(f"Kefu is serving on http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    try:
        _run(host=host, port=port, workers=workers)
    finally:
        mail.stop()


def _warm_up_bot() -> None:
    """Load (or, on a fresh install, train) the intent model now, not on the first customer."""
    import threading

    from kefu.bot.engine import default_engine

    threading.Thread(target=default_engine, name="kefu-bot-warm-up", daemon=True).start()


def _run(*, host: str, port: int, workers: int) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)
    uvicorn.run("kefu.asgi:application", host=host, port=port, workers=workers, **uvicorn_options())
