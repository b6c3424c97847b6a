"""Run the ASGI application (HTTP and WebSocket) under uvicorn, with the SMTP receiver and,
without Redis, the job consumer in the same process."""

from __future__ import annotations

import gc
import sys
from typing import Any

import uvicorn

# The database thread gives up the GIL in every SQLite call and then waits for the busy event
# loop to hand it back — up to Python's switch interval (5 ms) each time, several times per
# chat message. 1 ms keeps chat writes from queueing behind WebSocket work.
SWITCH_INTERVAL = 0.001


# Net new container objects between young-generation collections (CPython's default: 700).
YOUNG_COLLECTION_EVERY = 50_000


def settle_memory() -> None:
    """Put what start-up loaded (Django, URL and template caches, the bot's model, jieba's
    dictionary) out of the garbage collector's reach. Otherwise every full collection walks
    all of it — 40–70 ms measured here — at a random moment in some request.

    And collect the young generation less often. A full collection runs once a quarter more
    objects have survived into the old generation since the last one, and what survives is
    mostly what happened to be in flight at a young collection: every 700 new objects, a busy
    server promoted its in-flight messages, tasks and futures, which die soon after. At 1,000
    chats that was a full collection every 20–30 s that found almost nothing (mostly under 60
    objects) but walked every connection's objects (350,000) with the event loop stopped:
    0.3–0.8 s on a loaded 2-core machine, the chat's latency tail (``kefu bench chat``,
    docs/benchmarks.md). Every 50,000, in-flight objects mostly die young; a young collection
    walks at most about that many, and cyclic garbage still goes within 50,000 allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
    _trim_heap()


def _trim_heap() -> None:
    """Give the C heap's free pages back to the system (glibc only; elsewhere nothing).

    Start-up frees a lot (migration checks, the index build in the warm-up thread's own malloc
    arena, the model's JSON) that glibc otherwise keeps mapped: resident memory a serving
    process would carry for its whole life."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        pass


def uvicorn_options(*, log_level: str = "info", warm_up: bool = False) -> dict[str, Any]:
    """How Kefu runs under uvicorn (``kefu serve`` and the chat benchmark's servers).

    ``warm_up``: turn on the ASGI lifespan, whose start-up (kefu.asgi) builds the search index
    and loads the bot's model in each serving process; off for servers started by tests.
    """
    return {
        "log_level": log_level,
        "ws": "websockets-sansio",
        # Chat frames are a few hundred bytes: compressing each costs more CPU than it saves.
        "ws_per_message_deflate": False,
        "lifespan": "on" if warm_up else "off",
        "log_config": uvicorn_log_config(),
        # X-Forwarded-For/-Proto are read by Kefu alone (kefu.clientip behind
        # KEFU_TRUSTED_PROXIES, KEFU_PROXY_SSL_HEADER): uvicorn's own handling would trust
        # 127.0.0.1 whatever those say, so a local client could pick its address.
        "proxy_headers": False,
    }


def uvicorn_log_config() -> dict[str, Any]:
    """Uvicorn's own logging set-up with the secret guard on every handler: access lines keep
    paths and parameter names but no query values, and every line is screened for secrets
    (see :mod:`kefu.trust.logguard`)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"secrets": {"()": "kefu.trust.logguard.SecretFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["secrets"]
    return config


def run_server(*, host: str, port: int, workers: int = 1) -> None:
    from django.conf import settings

    from kefu.jobs.engine import consumes_in_serve, start_embedded_consumer
    from kefu.mail import conf as mail_conf
    from kefu.mail.smtp import start_smtp_receiver

    # Without Redis the job queue is a file in the data directory and this process (the one
    # uvicorn supervisor, whatever --workers says) runs its consumer: one command starts
    # everything. With Redis, `kefu worker` processes run the jobs; every serving process only
    # enqueues, so all of them behave the same.
    consumer = start_embedded_consumer() if consumes_in_serve() else None
    listen = mail_conf.smtp_listen()
    # Each stored mail enqueues its own job after commit (kefu.mail.actions.do_accept_inbound).
    receiver = start_smtp_receiver(listen) if listen else None
    if not mail_conf.notifications_enabled():
        print("KEFU_EMAIL_URL is not set: no acknowledgements or replies will be mailed", flush=True)
    if consumer is not None:
        print(f"Background jobs run in this process ({settings.KEFU_WORKER_CONCURRENCY} threads)", flush=True)
    else:
        print("Background jobs run in `kefu worker` processes (KEFU_REDIS_URL is set)", flush=True)
    settle_memory()
    print(f"Kefu is serving on http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    try:
        _run(host=host, port=port, workers=workers)
    finally:
        if receiver is not None:
            receiver.stop()
        if consumer is not None:
            consumer.stop(graceful=True)


def warm_up_search() -> int:
    """Build the help-centre search index and the bot's passage index (the same articles cut
    into sections) now: jieba's dictionary and every article analysed, seconds that the first
    search or bot answer after start would otherwise wait. Returns the article count."""
    from django.db import connection

    from kefu.helpcenter.passages import current_passages
    from kefu.helpcenter.search import current_index
    from kefu.tickets.search import terms_of

    try:
        count = len(current_index())
        current_passages()
        terms_of("预热 warm-up")  # the same jieba for ticket search, even without any article
        return count
    finally:
        connection.close()  # this thread's connection; requests use their own


def warm_up() -> None:
    """Build the search index and load (or, on a fresh install, train) the intent model now,
    not on the first customer; in a thread, so the server answers meanwhile (searches that
    arrive wait for the one build). Called by each serving process's ASGI start-up."""
    import threading

    def run() -> None:
        from kefu.bot.engine import default_engine

        count = warm_up_search()
        print(f"Help-centre search index ready ({count} articles)", flush=True)
        default_engine()
        settle_memory()  # the index, the model and the dictionary are there for good now

    threading.Thread(target=run, name="kefu-bot-warm-up", daemon=True).start()


def _run(*, host: str, port: int, workers: int) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)
    uvicorn.run(
        "kefu.asgi:application", host=host, port=port, workers=workers, **uvicorn_options(warm_up=True)
    )
