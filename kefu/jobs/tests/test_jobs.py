"""The job engine: failed jobs reach the admin and its retry runs them again; `kefu worker`
runs in its own process and takes jobs another process enqueued (SQLite file and Redis)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.urls import reverse

from kefu.jobs.engine import drain, job
from kefu.jobs.models import FailedJob

PHRASE = "abandon ability able about above absent absorb abstract absurd abuse access accident"
CALLS: list[int] = []
BROKEN = {"on": True}


@job(retries=1, retry_delay=0)
def fragile(number: int) -> None:
    """A job that fails while BROKEN is on; its error quotes a seed phrase."""
    CALLS.append(number)
    if BROKEN["on"]:
        raise RuntimeError(f"could not parse {PHRASE}")


@pytest.fixture
def fragile_calls():
    CALLS.clear()
    BROKEN["on"] = True
    yield CALLS
    CALLS.clear()


@pytest.mark.django_db(transaction=True)
def test_a_job_that_fails_its_retries_is_kept_for_admins_who_can_run_it_again(job_queue, fragile_calls):
    from kefu.mail.tests.conftest import admin_client

    fragile(7)
    drain()
    assert fragile_calls == [7, 7]  # the first run and its one retry
    [failed] = FailedJob.objects.all()
    assert failed.task_name.endswith("test_jobs.fragile") and failed.args == [7]
    assert failed.error.startswith("RuntimeError") and "abandon ability" not in failed.error
    assert failed.retried_at is None

    fragile(7)  # failing again while unretried: the same record, counted
    drain()
    failed.refresh_from_db()
    assert (FailedJob.objects.count(), failed.failures) == (1, 2)

    BROKEN["on"] = False
    client = admin_client()
    url = reverse("admin:jobs_failedjob_changelist")
    page = client.get(url)
    assert page.status_code == 200 and "test_jobs.fragile" in page.content.decode()
    answer = client.post(url, {"action": "retry", "_selected_action": [failed.pk]})
    assert answer.status_code == 302
    fragile_calls.clear()
    assert drain() == 1
    assert fragile_calls == [7]
    failed.refresh_from_db()
    assert failed.retried_at is not None

    # A job whose code is gone since it failed is left listed, not retried (nor a 500).
    gone = FailedJob.objects.create(task_name="kefu.removed.tasks.old_job", args=[1], error="x")
    answer = client.post(url, {"action": "retry", "_selected_action": [gone.pk]})
    assert answer.status_code == 302 and drain() == 0
    gone.refresh_from_db()
    assert gone.retried_at is None


@pytest.mark.django_db
def test_a_job_that_succeeds_on_its_retry_leaves_no_record(job_queue, fragile_calls):
    def heal(signal, task, *args):  # the first failure mends the job before the retry
        BROKEN["on"] = False

    from huey import signals

    job_queue.signal(signals.SIGNAL_RETRYING)(heal)
    try:
        fragile(3)
        drain()
    finally:
        job_queue.disconnect_signal(heal, signals.SIGNAL_RETRYING)
    assert fragile_calls == [3, 3]
    assert not FailedJob.objects.exists()


# --------------------------------------------------------------------------- `kefu worker`

KEFU = str(Path(sys.executable).with_name("kefu"))
MAIL = Path(__file__).resolve().parents[2] / "mail" / "tests" / "messages" / "gmail.eml"


def _env(data_dir: Path, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "DJANGO_"))}
    env["KEFU_DATA_DIR"] = str(data_dir)
    if redis_url:
        env["KEFU_REDIS_URL"] = redis_url
    return env


def _inbound_rows(data_dir: Path) -> list[tuple[str, int | None]]:
    with sqlite3.connect(data_dir / "kefu.sqlite3") as db:
        return db.execute("select status, ticket_id from mail_inboundmail").fetchall()


@pytest.mark.parametrize("storage", ["sqlite", "redis"])
def test_kefu_worker_runs_a_job_another_process_enqueued(tmp_path: Path, storage: str) -> None:
    """`kefu mail receive` stores a mail and enqueues its job, then exits; `kefu worker`, a
    process of its own, takes the job and turns the mail into a ticket."""
    redis_url = os.environ.get("KEFU_TEST_REDIS_URL") if storage == "redis" else None
    if storage == "redis" and not redis_url:
        pytest.skip("KEFU_TEST_REDIS_URL is not set")
    if redis_url:
        from kefu.jobs.engine import build_huey

        build_huey(redis_url).flush()  # this Redis database's queue: no leftovers from other runs
    env = _env(tmp_path, redis_url)
    subprocess.run([KEFU, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True)
    received = subprocess.run(
        [KEFU, "mail", "receive", "--sender", "xiaoming.wang@webmail.example"],
        input=MAIL.read_bytes(),
        env=env,
        cwd=tmp_path,
        capture_output=True,
    )
    assert received.returncode == 0, received.stderr
    assert _inbound_rows(tmp_path) == [("pending", None)]

    worker = subprocess.Popen(
        [KEFU, "worker", "--concurrency", "1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    guard = threading.Timer(120, worker.kill)  # a deadline for a hung worker, not a timing check
    guard.start()
    try:
        while worker.poll() is None and _inbound_rows(tmp_path)[0][0] == "pending":
            time.sleep(0.2)
    finally:
        guard.cancel()
        worker.terminate()  # SIGTERM: finish what is under way, then exit
        output, _ = worker.communicate(timeout=60)
    [(status, ticket_id)] = _inbound_rows(tmp_path)
    assert status == "processed" and ticket_id is not None, output
    assert worker.returncode == 0, output
    assert "Kefu worker: 1 job threads" in output


@pytest.mark.django_db(transaction=True)
def test_the_periodic_jobs_are_registered_and_run(job_queue):
    from kefu.chat.tasks import sweep
    from kefu.jobs.engine import huey, task_name
    from kefu.mail.tasks import poll_imap, reconcile

    periodic = {huey._registry.task_to_string(cls) for cls in huey._registry._periodic_tasks}
    assert {task_name(sweep), task_name(reconcile), task_name(poll_imap)} <= periodic
    sweep()
    reconcile()
    poll_imap()  # no KEFU_IMAP_URL: nothing to do
    assert drain() == 3
    assert not FailedJob.objects.exists()
