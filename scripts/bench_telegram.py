"""Benchmark: 1,000 Telegram updates replayed against `kefu serve` while the Bot API fails at random.

Starts a local server speaking the Bot API (kefu/telegram/tests/fakeapi.py) that answers a share of
sendMessage calls with 429 (``retry_after``) or 500, starts ``kefu serve`` on a free port with the
Telegram settings pointing at it (webhook mode, embedded job worker, bot first), and POSTs N
updates to ``/channels/telegram/webhook`` from several threads — each a user's message, some sent
twice as Telegram's retries are. Waits until every event is processed and every bot reply sent, then
prints:

- lost: updates with no message on a case, bot replies never delivered (must be 0)
- duplicated: a message stored twice for one update, a reply sent twice (must be 0)
- webhook → agent's screen: from the POST to the message committed on its case's thread (what the
  workspace shows; the event's ``processed_at``), p50/p99, after one warm-up update
- webhook answer time (the 200), p50/p99

SQLite in a fresh directory by default; KEFU_DATABASE_URL=postgres://... for PostgreSQL (a fresh
database: it is migrated and filled). Not a test: numbers, no assertions.

    python scripts/bench_telegram.py --updates 1000 --users 100 --fail-rate 0.3
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "bench-secret-7Qp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def post(url: str, update: dict) -> tuple[int, float]:
    body = json.dumps(update).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument(
        "--fail-rate", type=float, default=0.3, help="share of sendMessage calls answered 429/500"
    )
    parser.add_argument("--redeliver", type=float, default=0.1, help="share of updates posted twice")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--rate", type=float, default=20, help="updates per second offered (0: as fast as the threads post)"
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for everything to settle")
    args = parser.parse_args()

    from kefu.telegram.tests.fakeapi import TOKEN, FakeBotApi, text_update

    rng = random.Random(args.seed)
    api = FakeBotApi()
    api.random = rng
    api.start()
    data_dir = tempfile.mkdtemp(prefix="kefu-bench-telegram-")
    port = free_port()
    env = {
        **os.environ,
        "KEFU_DATA_DIR": data_dir,
        "KEFU_TELEGRAM_BOT_TOKEN": TOKEN,
        "KEFU_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "KEFU_TELEGRAM_API_URL": api.url,
        "KEFU_MAIL_RETRY_SECONDS": "1",
        "KEFU_MAIL_MAX_ATTEMPTS": "20",
        "KEFU_MAIL_WORKER_INTERVAL": "0.5",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("KEFU_")})
    log = open(Path(data_dir) / "serve.log", "w")  # noqa: SIM115 - closed at the end
    server = subprocess.Popen(
        [sys.executable, "-m", "kefu.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-demo"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/channels/telegram/webhook"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.ico", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            print("kefu serve did not start; see", Path(data_dir) / "serve.log")
            return 1
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
        import django

        django.setup()
        from kefu.inbox import durable
        from kefu.inbox.models import DeliveryStatus, EventStatus, InboundEvent, OutboundDelivery
        from kefu.tickets.models import Message, Sender

        # Warm-up: the first message loads the bot's model; not counted.
        warm = text_update(1, "hello", user_id=7_000_000)
        post(url, warm)
        deadline = time.monotonic() + 300
        while not InboundEvent.objects.filter(status=EventStatus.PROCESSED).exists():
            if time.monotonic() > deadline:
                print("the warm-up update was never processed")
                return 1
            time.sleep(0.2)

        texts = [
            "My USDT deposit has not arrived yet",
            "withdrawal pending for two hours",
            "how do I reset 2FA",
            "is @lumen_support_help your official account?",
            "提现一直在审核中怎么办",
            "充值没到账",
        ]
        updates = [
            text_update(1000 + i, f"{rng.choice(texts)} #{i}", user_id=8_000_000 + rng.randrange(args.users))
            for i in range(args.updates)
        ]
        plan = updates + [u for u in updates if rng.random() < args.redeliver]
        rng.shuffle(plan)
        posted_at: dict[int, float] = {}
        answer_times: list[float] = []
        started = time.time()

        def send(item: tuple[int, dict]) -> None:
            index, update = item
            if args.rate:  # a steady offered load, not one burst: Telegram delivers as users write
                time.sleep(max(0.0, started + index / args.rate - time.time()))
            posted_at.setdefault(update["update_id"], time.time())
            status, took = post(url, update)
            if status != 200:
                raise RuntimeError(f"webhook answered {status}")
            answer_times.append(took)

        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(send, enumerate(plan)))
        keys = {durable.digest(f"ext:{u['update_id']}"): u["update_id"] for u in updates}
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            pending = (
                InboundEvent.objects.filter(dedupe_key__in=keys).exclude(status=EventStatus.PROCESSED).count()
            )
            queued = OutboundDelivery.objects.filter(status=DeliveryStatus.QUEUED).count()
            if not pending and not queued:
                break
            time.sleep(0.5)
        elapsed = time.time() - started

        events = list(
            InboundEvent.objects.filter(dedupe_key__in=keys).values_list(
                "dedupe_key", "status", "processed_at", "received_at"
            )
        )
        processed = {key: at for key, status, at, _received in events if status == EventStatus.PROCESSED}
        in_job = [
            (at - received).total_seconds() * 1000
            for _key, status, at, received in events
            if status == EventStatus.PROCESSED
        ]
        ids = [str(u["update_id"]) for u in updates]
        stored = Message.objects.filter(external_id__in=ids, sender=Sender.CUSTOMER)
        per_update: dict[str, int] = {}
        for external_id in stored.values_list("external_id", flat=True):
            per_update[external_id] = per_update.get(external_id, 0) + 1
        bot_replies = Message.objects.filter(sender=Sender.BOT).count()
        delivered = OutboundDelivery.objects.filter(status=DeliveryStatus.SENT).count()
        failed = OutboundDelivery.objects.filter(status=DeliveryStatus.FAILED).count()
        sends = len(api.sent())
        lost_updates = len([i for i in ids if per_update.get(i, 0) == 0])
        lost_replies = bot_replies - delivered
        duplicated_messages = sum(count - 1 for count in per_update.values() if count > 1)
        duplicated_sends = max(0, sends - delivered)  # an accepted sendMessage per delivery, no more
        latencies = [
            (processed[key].timestamp() - posted_at[keys[key]]) * 1000
            for key in processed
            if keys[key] in posted_at
        ]
        print(f"database: {'PostgreSQL' if os.environ.get('KEFU_DATABASE_URL') else 'SQLite'}")
        print(
            f"updates: {args.updates} ({len(plan) - args.updates} redelivered), users: {args.users}, "
            f"offered {args.rate or 'max'}/s, Bot API failures: {args.fail_rate:.0%} of sendMessage "
            "(429 retry_after 1 / 500)"
        )
        print(
            f"bot replies: {bot_replies}, delivered: {delivered}, failed for good: {failed}, sendMessage OK: {sends}"
        )
        print(f"lost: {lost_updates + lost_replies} (updates {lost_updates}, replies {lost_replies})")
        print(
            f"duplicated: {duplicated_messages + duplicated_sends} (messages {duplicated_messages}, sends {duplicated_sends})"
        )
        if latencies:
            print(
                f"webhook -> agent's screen: p50 {statistics.median(latencies):.0f} ms, "
                f"p99 {percentile(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms"
            )
            print(
                f"  of which stored -> on the case (queue wait + the job, the bot's answer included): "
                f"p50 {statistics.median(in_job):.0f} ms, p99 {percentile(in_job, 0.99):.0f} ms"
            )
        ms = [t * 1000 for t in answer_times]
        print(f"webhook answer (200): p50 {statistics.median(ms):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms")
        print(f"all settled in {elapsed:.1f} s")
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        api.stop()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
