"""`kefu serve` and the job engine, as an operator starts it: without Redis it runs the jobs
itself; with Redis and `--workers N` every serving process warms up and none consumes."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kefu.jobs.tests.test_jobs import KEFU, MAIL, _env, _inbound_rows
from kefu.tests.test_serve_cli import free_port


def _start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [KEFU, *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _read_until(process: subprocess.Popen[str], done) -> str:  # type: ignore[no-untyped-def]
    """Collect the output until ``done(output)``; a deadline kills a server that never says it."""
    lines: list[str] = []
    guard = threading.Timer(300, process.kill)
    guard.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if done("".join(lines)):
                break
    finally:
        guard.cancel()
    return "".join(lines)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_serve_without_redis_runs_the_jobs_itself(tmp_path: Path) -> None:
    """One command starts everything: a mail stored by another process (an MTA's pipe) becomes
    a ticket through the consumer inside `kefu serve`."""
    env = _env(tmp_path, None)
    server = _start(["serve", "--no-demo", "--port", str(free_port())], env, tmp_path)
    try:
        output = _read_until(server, lambda out: "Kefu is serving on" in out)
        assert "Background jobs run in this process" in output, output
        received = subprocess.run(
            [KEFU, "mail", "receive", "--sender", "xiaoming.wang@webmail.example"],
            input=MAIL.read_bytes(),
            env=env,
            cwd=tmp_path,
            capture_output=True,
        )
        assert received.returncode == 0, received.stderr
        deadline = threading.Event()
        guard = threading.Timer(120, deadline.set)  # a deadline, not a timing check
        guard.start()
        try:
            while not deadline.is_set() and _inbound_rows(tmp_path)[0][0] == "pending":
                time.sleep(0.2)
        finally:
            guard.cancel()
    finally:
        _stop(server)
    [(status, ticket_id)] = _inbound_rows(tmp_path)
    assert status == "processed" and ticket_id is not None


def test_serve_with_redis_and_workers_warms_up_every_serving_process(tmp_path: Path) -> None:
    """`kefu serve --workers 2` with Redis: both uvicorn workers build the search index and load
    the bot (not the supervisor, which serves nothing), and the jobs are left to `kefu worker`."""
    redis_url = os.environ.get("KEFU_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("KEFU_TEST_REDIS_URL is not set")
    env = _env(tmp_path, redis_url)
    subprocess.run([KEFU, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True)
    server = _start(["serve", "--no-demo", "--port", str(free_port()), "--workers", "2"], env, tmp_path)
    try:
        output = _read_until(server, lambda out: out.count("search index ready") >= 2)
    finally:
        _stop(server)
    assert "Background jobs run in `kefu worker` processes" in output, output
    assert "Background jobs run in this process" not in output
    assert output.count("search index ready") == 2, output


def test_kefu_mail_worker_receives_over_smtp_and_runs_the_job(tmp_path: Path) -> None:
    """`kefu mail worker --listen`: a job consumer plus the SMTP receiver, for a mail-only node."""
    import smtplib

    env = _env(tmp_path, None)
    subprocess.run([KEFU, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True)
    port = free_port()
    worker = _start(["mail", "worker", "--listen", f"127.0.0.1:{port}"], env, tmp_path)
    try:
        output = _read_until(worker, lambda out: "worker running" in out)
        assert f"SMTP receiver on 127.0.0.1:{port}" in output, output
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail(
                "xiaoming.wang@webmail.example", ["support@lumenwallet.example"], MAIL.read_bytes()
            )
        deadline = threading.Event()
        guard = threading.Timer(120, deadline.set)  # a deadline, not a timing check
        guard.start()
        try:
            while not deadline.is_set() and _inbound_rows(tmp_path)[0][0] == "pending":
                time.sleep(0.2)
        finally:
            guard.cancel()
    finally:
        _stop(worker)
    [(status, ticket_id)] = _inbound_rows(tmp_path)
    assert status == "processed" and ticket_id is not None
    assert worker.returncode == 0
