"""Benchmark: 1,000 WhatsApp messages replayed against `kefu serve` while the Graph API fails at random.

Starts a local server speaking the WhatsApp Cloud API (kefu/whatsapp/tests/fake_graph.py) that
answers a share of message sends with 429 (code 130429) or 500, starts ``kefu serve`` on a free
port with the WhatsApp settings pointing at it (embedded job worker, bot first), and POSTs N
webhook calls to ``/channels/whatsapp/webhook`` — each a customer's text message in the Cloud
API's format, signed with X-Hub-Signature-256 like Meta's, some posted twice as Meta retries.
Waits until every event is processed and every bot reply sent, then prints:

- lost: messages with no message on a case, bot replies never delivered (must be 0)
- duplicated: a message stored twice for one wamid, a reply accepted twice (must be 0)
- webhook → agent's screen: from the POST to the message committed on its case's thread (what
  the workspace shows; the event's ``processed_at``), p50/p99, after one warm-up message
- webhook answer time (the 200), p50/p99

SQLite in a fresh directory by default; KEFU_DATABASE_URL=postgres://... for PostgreSQL (a fresh
database: it is migrated and filled). Not a test: numbers, no assertions.

    python scripts/bench_whatsapp.py --messages 1000 --users 100 --fail-rate 0.3
"""

from __future__ import annotations

import argparse
import concurrent.futures
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
VERIFY_TOKEN = "bench-verify"
APP_SECRET = "bench-app-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def post(url: str, body: dict) -> tuple[int, float]:
    from kefu.whatsapp.tests.fake_graph import signed

    raw, signature = signed(APP_SECRET, body)
    request = urllib.request.Request(
        url, data=raw, headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--fail-rate", type=float, default=0.3, help="share of sends answered 429/500")
    parser.add_argument("--redeliver", type=float, default=0.1, help="share of webhook calls posted twice")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--rate", type=float, default=20, help="messages per second offered (0: as fast as possible)"
    )
    parser.add_argument(
        "--no-bot", action="store_true", help="the inbox without the bot (cases open at once)"
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for everything to settle")
    args = parser.parse_args()

    from kefu.whatsapp.tests.fake_graph import PHONE_NUMBER_ID, FakeGraph, inbound, text

    rng = random.Random(args.seed)
    graph = FakeGraph(failure_rate=args.fail_rate, seed=args.seed).start()
    data_dir = tempfile.mkdtemp(prefix="kefu-bench-whatsapp-")
    port = free_port()
    env = {
        **os.environ,
        "KEFU_DATA_DIR": data_dir,
        "KEFU_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "KEFU_WHATSAPP_APP_SECRET": APP_SECRET,
        "KEFU_WHATSAPP_ACCESS_TOKEN": graph.token,
        "KEFU_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "KEFU_WHATSAPP_API_URL": graph.url,
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
    url = f"http://127.0.0.1:{port}/channels/whatsapp/webhook"
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
        post(url, inbound(text("hello", wamid="wamid.warmup", wa_id="440000000000")))
        deadline = time.monotonic() + 300
        while not InboundEvent.objects.filter(status=EventStatus.PROCESSED).exists():
            if time.monotonic() > deadline:
                print("the warm-up message was never processed; see", Path(data_dir) / "serve.log")
                return 1
            time.sleep(0.2)

        if args.no_bot:
            from kefu.inbox.models import Inbox, InboxKind

            Inbox.objects.filter(kind=InboxKind.WHATSAPP).update(bot_enabled=False)
            time.sleep(70)  # the server's inbox cache (a minute) forgets the old row
        texts = [
            "My USDT deposit has not arrived yet",
            "withdrawal pending for two hours",
            "how do I reset 2FA",
            "is +1 555 0100 your official WhatsApp?",
            "提现一直在审核中怎么办",
            "充值没到账",
        ]
        messages = []
        for i in range(args.messages):
            wa_id = str(447_700_000_000 + rng.randrange(args.users))
            messages.append((f"wamid.bench{i:06d}", wa_id, f"{rng.choice(texts)} #{i}"))
        plan = messages + [m for m in messages if rng.random() < args.redeliver]
        rng.shuffle(plan)
        posted_at: dict[str, float] = {}
        answer_times: list[float] = []
        started = time.time()

        def send(item: tuple[int, tuple[str, str, str]]) -> None:
            index, (wamid, wa_id, body) = item
            if args.rate:  # a steady offered load, as customers write
                time.sleep(max(0.0, started + index / args.rate - time.time()))
            posted_at.setdefault(wamid, time.time())
            status, took = post(url, inbound(text(body, wamid=wamid, wa_id=wa_id), wa_id=wa_id))
            if status != 200:
                raise RuntimeError(f"webhook answered {status}")
            answer_times.append(took)

        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(send, enumerate(plan)))
        keys = {durable.digest(f"ext:{wamid}"): wamid for wamid, _w, _b in messages}
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
        processed = {key: at for key, status, at, _r in events if status == EventStatus.PROCESSED}
        stored_at = {key: at for key, _s, _p, at in events}
        ids = [wamid for wamid, _w, _b in messages]
        stored = Message.objects.filter(external_id__in=ids, sender=Sender.CUSTOMER)
        per_message: dict[str, int] = {}
        for external_id in stored.values_list("external_id", flat=True):
            per_message[external_id] = per_message.get(external_id, 0) + 1
        bot_replies = Message.objects.filter(sender=Sender.BOT).count()
        delivered = OutboundDelivery.objects.filter(status=DeliveryStatus.SENT).count()
        failed = OutboundDelivery.objects.filter(status=DeliveryStatus.FAILED).count()
        accepted = len(graph.accepted)
        lost_messages = len([i for i in ids if per_message.get(i, 0) == 0])
        lost_replies = bot_replies - delivered
        duplicated_messages = sum(count - 1 for count in per_message.values() if count > 1)
        duplicated_sends = max(0, accepted - delivered)  # one accepted send per delivery, no more
        latencies = [
            (processed[key].timestamp() - posted_at[keys[key]]) * 1000
            for key in processed
            if keys[key] in posted_at
        ]
        print(f"database: {'PostgreSQL' if os.environ.get('KEFU_DATABASE_URL') else 'SQLite'}")
        print(
            f"messages: {args.messages} ({len(plan) - args.messages} redelivered), users: {args.users}, "
            f"offered {args.rate or 'max'}/s, Graph API failures: {args.fail_rate:.0%} of sends (429 / 500)"
        )
        print(
            f"bot replies: {bot_replies}, delivered: {delivered}, failed for good: {failed}, sends accepted: {accepted}"
        )
        print(f"lost: {lost_messages + lost_replies} (messages {lost_messages}, replies {lost_replies})")
        print(
            f"duplicated: {duplicated_messages + duplicated_sends} "
            f"(messages {duplicated_messages}, sends {duplicated_sends})"
        )
        if latencies:
            print(
                f"webhook -> agent's screen: p50 {statistics.median(latencies):.0f} ms, "
                f"p99 {percentile(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms"
            )
        queued = [(processed[key] - stored_at[key]).total_seconds() * 1000 for key in processed]
        if queued:
            print(
                f"  of which stored -> processed (queue wait and the job): p50 {statistics.median(queued):.0f} ms, "
                f"p99 {percentile(queued, 0.99):.0f} ms"
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
        graph.stop()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
