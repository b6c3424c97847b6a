"""Benchmark: the phone hotline's webhook answer time with N concurrent calls against `kefu serve`.

Starts a local server speaking the provider's REST API (the tests' fake: texts and calls are
accepted), starts ``kefu serve`` on a free port with the hotline's settings pointing at it
(``KEFU_PUBLIC_URL`` is the server's own address, so signatures are checked as in production),
then plays N calls at once with the simulator (``kefu phone call``'s engine: signed requests,
the provider's form fields, following the TwiML). Each call picks the language, a branch of the
menu (0 an agent, 1 deposits, 3 other, 9 a call-back, # a wrong case number), waits in the queue
for a few wait-URL rounds and hangs up (the status callback). ``--think`` seconds pass between a
call's requests (a real call listens to each prompt for 5-20 s, so the default of 1 s makes
about ten times the load of 50 real callers; 0 hammers).

Prints the webhook answer time (request sent → TwiML received) p50/p99 over every request after a
warm-up call, and the count of non-200 answers (must be 0); then, per process, the CPU per
answered webhook and how long its threads stood runnable waiting for a CPU (Linux schedstat: on
a shared machine, the part of the answer times that is the machine's). SQLite in a fresh
directory by default; KEFU_DATABASE_URL=postgres://... for PostgreSQL (a fresh database). Not a
test.

Without ``--redis`` the jobs (each webhook's follow-up: the case's hand-off, ringing an agent,
the texts) run inside ``kefu serve`` (its embedded consumer, as on a laptop); with ``--redis`` in
a separate ``kefu worker`` process, as docs/deploy.md deploys it — the figures to compare with
the bar.

    python scripts/bench_phone.py --calls 50 --repeat 2 --think 5 --redis redis://127.0.0.1:6379/9
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The fake provider's credentials (kefu/phone/tests/conftest.py), repeated: importing the tests'
# module needs Django set up, which needs these settings first.
ACCOUNT_SID = "ACf0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
AUTH_TOKEN = "9f86d081884c7d659a2feaa0c55ad015"
HOTLINE = "+8640012345678"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sched_seconds(pid: int) -> tuple[float, float]:
    """Seconds a process's threads have run on a CPU and waited, runnable, for one (Linux's
    ``/proc/PID/task/*/schedstat``); (0, 0) where that is not available. On a shared machine
    the second tells how much of an answer's time was the machine's, not Kefu's."""
    run = wait = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:
            continue
        run, wait = run + int(fields[0]), wait + int(fields[1])
    return run / 1e9, wait / 1e9


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=50, help="concurrent calls")
    parser.add_argument("--repeat", type=int, default=4, help="calls each concurrent caller makes in turn")
    parser.add_argument("--rounds", type=int, default=3, help="wait-URL rounds while queued")
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="seconds between a call's requests (a real call spends 5-20 s listening to each <Say>)",
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--redis",
        default="",
        help="a Redis URL (its database is flushed): jobs then run in a separate `kefu worker` process, "
        "as docs/deploy.md recommends for production, instead of inside `kefu serve`",
    )
    args = parser.parse_args()

    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    data_dir = tempfile.mkdtemp(prefix="kefu-bench-phone-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "KEFU_DATA_DIR": data_dir,
        "KEFU_PUBLIC_URL": base,
        "KEFU_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "KEFU_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "KEFU_TWILIO_API_URL": api_url,
        "KEFU_PHONE_NUMBER": HOTLINE,
    }
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        env["KEFU_REDIS_URL"] = args.redis
    os.environ.update({k: v for k, v in env.items() if k.startswith("KEFU_")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would swamp the numbers
    from kefu.phone.simulator import HttpTransport, Simulator
    from kefu.phone.tests.conftest import FakeProvider, _handler

    provider = FakeProvider(base_url=api_url)
    api = ThreadingHTTPServer(("127.0.0.1", api_port), _handler(provider))
    threading.Thread(target=api.serve_forever, daemon=True).start()
    log = open(Path(data_dir) / "serve.log", "w")  # noqa: SIM115 - closed at the end
    server = subprocess.Popen(
        [sys.executable, "-m", "kefu.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-demo"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker = (
        subprocess.Popen(
            [sys.executable, "-m", "kefu.cli", "worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        if args.redis
        else None
    )
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/favicon.ico", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            print("kefu serve did not start; see", Path(data_dir) / "serve.log")
            return 1
        from kefu.inbox.models import Inbox, InboxKind

        Inbox.objects.get_or_create(kind=InboxKind.VOICE, name="Hotline")

        timings: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        by_step: dict[str, list[float]] = {}

        class Timed(HttpTransport):
            def post(self, url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
                time.sleep(args.think)
                started = time.perf_counter()
                status, body = super().post(url, params, signature)
                took = time.perf_counter() - started
                step = url.split("?")[0].rsplit("/", 1)[-1]
                with lock:
                    timings.append(took)
                    by_step.setdefault(step, []).append(took * 1000)
                    if status != 200:
                        failures.append(f"{status} {url}")
                return status, body

        branches = [["0"], ["1"], ["3"], ["9"], ["#", "123#"], ["2", "1"]]

        def one_call(index: int) -> None:
            rng = random.Random(args.seed * 1000 + index)
            keys = [rng.choice(["", "2"]), *rng.choice(branches), *[""] * args.rounds]
            simulator = Simulator(
                base_url=base,
                auth_token=AUTH_TOKEN,
                account_sid=ACCOUNT_SID,
                caller=f"+86139{index:08d}",
                called=HOTLINE,
                transport=Timed(timeout=60),
                keypad=lambda prompt: keys.pop(0) if keys else None,
                out=lambda line: None,
                wait_rounds=args.rounds,
                start_position=rng.randint(1, 20),
            )
            simulator.run()

        one_call(10_000_000)  # warm-up: not counted
        timings.clear()
        by_step.clear()
        processes = {"serve": server, **({"worker": worker} if worker is not None else {})}
        sched_before = {name: sched_seconds(p.pid) for name, p in processes.items()}
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(args.calls) as pool:
            list(pool.map(one_call, range(args.calls * args.repeat)))
        elapsed = time.monotonic() - started
        ms = [t * 1000 for t in timings]
        print(
            f"calls={args.calls * args.repeat} concurrent={args.calls} think_s={args.think} requests={len(ms)} "
            f"non_200={len(failures)} seconds={elapsed:.1f} "
            f"p50_ms={percentile(ms, 0.5):.1f} p99_ms={percentile(ms, 0.99):.1f} max_ms={max(ms):.1f}"
        )
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        # CPU per answered webhook, and how long the serving process's threads stood runnable
        # without a CPU (the machine's share of the answer times; 0 on a quiet machine).
        for name, measured in processes.items():
            run, wait = (b - a for a, b in zip(sched_before[name], sched_seconds(measured.pid), strict=True))
            print(
                f"  {name} process: cpu_ms_per_request={run * 1000 / max(len(ms), 1):.1f} "
                f"runnable_waiting_for_a_cpu_ms_per_request={wait * 1000 / max(len(ms), 1):.1f} "
                f"cpu_share_of_a_core={run / elapsed:.2f} load_average={load_before:.1f}->{load_after:.1f}"
            )
        for step, values in sorted(by_step.items()):
            print(
                f"  {step}: n={len(values)} p50_ms={percentile(values, 0.5):.1f} p99_ms={percentile(values, 0.99):.1f}"
            )
        return 1 if failures else 0
    finally:
        for process in (server, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        log.close()
        api.shutdown()


if __name__ == "__main__":
    sys.exit(main())
