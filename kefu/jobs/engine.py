"""The job engine: one Huey instance per process, its storage chosen by the settings.

- Without ``KEFU_REDIS_URL`` (the embedded default) the queue is a SQLite file in the data
  directory (``jobs.sqlite3``): nothing to install or start, and ``kefu serve`` runs a consumer
  in its own process.
- With ``KEFU_REDIS_URL`` the queue lives in Redis and ``kefu worker`` processes run the jobs;
  every ``kefu serve`` process only enqueues.

The rules every job here follows (docs/deploy.md, "Background jobs"): database rows are the
truth and the queue carries their ids; a job may run twice without harm (rows are claimed
with a conditional UPDATE); deadlines live in the rows, and a periodic reconcile enqueues
what is due, so a crash between commit and enqueue loses nothing and no job waits hours in
the broker.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from huey import Huey, RedisHuey, SqliteHuey
from huey import signals as huey_signals
from huey.api import TaskWrapper
from huey.consumer import Consumer, Scheduler

logger = logging.getLogger(__name__)

QUEUE_NAME = "kefu"
# A job that raises is tried this many more times, this many seconds apart (a short broker
# delay; longer waits are the rows' own next_attempt_at, seen by the reconcile).
DEFAULT_RETRIES = 2
DEFAULT_RETRY_DELAY = 10


def jobs_file() -> Path:
    return Path(settings.DATA_DIR) / "jobs.sqlite3"


def build_huey(redis_url: str | None = None) -> Huey:
    """Huey on Redis when a URL is given, else on the SQLite file in the data directory."""
    if redis_url:
        return RedisHuey(QUEUE_NAME, url=redis_url, results=False)
    return SqliteHuey(QUEUE_NAME, filename=str(jobs_file()), results=False)


huey: Huey = build_huey(getattr(settings, "REDIS_URL", None))


def consumes_in_serve() -> bool:
    """Whether ``kefu serve`` runs the jobs itself (no Redis: the queue is a local file)."""
    return not getattr(settings, "REDIS_URL", None)


# --------------------------------------------------------------------------- declaring jobs


def close_stale_connections() -> None:
    """Django's ``close_old_connections``, except for a connection inside a transaction: a job
    run by a caller that holds one (``drain()`` in a test) must not end it under them."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def _with_fresh_connections(fn: Callable[..., Any]) -> Callable[..., Any]:
    # A worker thread lives for hours: a connection the database dropped meanwhile must not
    # fail the next job, and none is held idle between jobs.
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        close_stale_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_stale_connections()

    return run


def job(
    *, retries: int = DEFAULT_RETRIES, retry_delay: int = DEFAULT_RETRY_DELAY
) -> Callable[..., TaskWrapper]:
    """Declare a job (in an app's ``tasks.py``); its name is ``module.function``."""

    def decorator(fn: Callable[..., Any]) -> TaskWrapper:
        return huey.task(retries=retries, retry_delay=retry_delay)(_with_fresh_connections(fn))

    return decorator


class Every:
    """A periodic job's schedule: due when ``seconds()`` have passed since it last fired in this
    process (the first check fires at once, so a starting worker catches up). ``seconds()`` is
    read at each check, so settings apply without a restart; 0 or less: never."""

    def __init__(self, seconds: Callable[[], float]) -> None:
        self.seconds = seconds
        self._next = 0.0
        self._lock = threading.Lock()

    def __call__(self, timestamp: Any = None) -> bool:
        interval = float(self.seconds())
        if interval <= 0:
            return False
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                return False
            self._next = now + interval
            return True


def periodic_job(seconds: Callable[[], float]) -> Callable[..., TaskWrapper]:
    """Declare a job every consumer enqueues every ``seconds()`` (several consumers may each
    do so: periodic jobs are idempotent sweeps). Not retried: the next period is the retry."""

    def decorator(fn: Callable[..., Any]) -> TaskWrapper:
        return huey.periodic_task(Every(seconds), retries=0)(_with_fresh_connections(fn))

    return decorator


def enqueue(task: TaskWrapper, *args: Any) -> None:
    """Enqueue now; a queue that cannot be reached is logged, not raised (the row is committed,
    and the reconcile enqueues it later)."""
    try:
        task(*args)
    except Exception:
        logger.exception("could not enqueue %s; the periodic reconcile will", task.name)


def enqueue_on_commit(task: TaskWrapper, *args: Any) -> None:
    """Enqueue once the current transaction commits (at once outside one): a worker must never
    look for a row that is not committed yet."""
    transaction.on_commit(lambda: enqueue(task, *args))


def task_name(task: TaskWrapper) -> str:
    name: str = huey._registry.task_to_string(task.task_class)  # huey is untyped
    return name


def is_registered(name: str) -> bool:
    return name in huey._registry._registry


def enqueue_by_name(name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Enqueue a registered job by its name (an admin's retry of a failed job)."""
    task_class = huey._registry.string_to_task(name)
    huey.enqueue(task_class(args=tuple(args), kwargs=dict(kwargs)))


# --------------------------------------------------------------------------- failures


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _record_failure(signal: str, task: Any, exc: BaseException | None = None) -> None:
    if signal == huey_signals.SIGNAL_ERROR and task.retries:
        return  # huey tries it again; only the last failure is one for admins
    from kefu.jobs.actions import do_record_failed_job

    if exc is None:
        error = "expired before it could run"
    else:
        error = f"{type(exc).__name__}: {exc}"
    try:
        do_record_failed_job(
            task_name=huey._registry.task_to_string(type(task)),
            task_id=str(task.id),
            args=_jsonable(list(task.args or ())),
            kwargs=_jsonable(dict(task.kwargs or {})),
            error=error,
        )
    except Exception:
        logger.exception("could not record the failed job %s", task.id)
    finally:
        close_stale_connections()


_signals_connected = False


def connect_signals() -> None:
    global _signals_connected
    if not _signals_connected:
        huey.signal(huey_signals.SIGNAL_ERROR, huey_signals.SIGNAL_EXPIRED)(_record_failure)
        _signals_connected = True


# --------------------------------------------------------------------------- consumers


class _Scheduler(Scheduler):  # type: ignore[misc]  # huey ships no types: its classes are Any
    # Huey checks periodic jobs once a minute, for crontab schedules. Kefu's periodic jobs say
    # their own intervals in seconds (Every), so look every second.
    periodic_task_seconds = 1


class KefuConsumer(Consumer):  # type: ignore[misc]  # huey ships no types: its classes are Any
    """Huey's consumer with thread workers and second-grained periodic jobs."""

    scheduler_class = _Scheduler


class EmbeddedConsumer(KefuConsumer):
    """The consumer inside ``kefu serve``: its threads only; the server owns the signals."""

    def _set_signal_handlers(self) -> None:
        pass


def consumer_options(workers: int) -> dict[str, Any]:
    return {
        "workers": max(int(workers), 1),
        "periodic": True,
        "worker_type": "thread",
        # An idle worker polls the SQLite queue at most a second apart (Redis blocks instead),
        # so a new mail is taken within a second, not huey's default ten.
        "max_delay": 1.0,
        "shutdown_timeout": 30,
    }


def start_embedded_consumer(workers: int | None = None) -> EmbeddedConsumer:
    """Start the job threads in this process; ``stop(graceful=True)`` on shutdown."""
    count = settings.KEFU_WORKER_CONCURRENCY if workers is None else workers
    consumer = EmbeddedConsumer(huey, **consumer_options(count))
    consumer.start()
    return consumer


def run_worker(workers: int | None = None) -> None:
    """``kefu worker``: run jobs until SIGTERM (finishing those under way) or SIGINT."""
    count = settings.KEFU_WORKER_CONCURRENCY if workers is None else workers
    consumer = KefuConsumer(huey, graceful_signal="TERM", **consumer_options(count))
    consumer.run()


def drain() -> int:
    """Run every queued job in this thread until the queue is empty; returns how many ran.
    For one-shot commands and tests; scheduled retries wait for a consumer."""
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran
