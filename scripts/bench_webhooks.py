"""Benchmark: outgoing webhooks while the receiver fails half the time — 0 lost.

Files tickets and replies through the real actions (their deliveries are written in the same
transactions), starts a real HTTP receiver (a thread) that answers 500 to a random half of the
requests, then lets ``--workers`` threads deliver them the way the jobs do (the sweep's
``due`` query, then ``send_delivery`` for each: claim, sign, POST over a pinned connection,
record). The workers race on the same due rows, so the claim is exercised; between rounds the
bench moves the pending rows' next attempts to now (fast-forwarding the back-off: otherwise the
run takes the back-off's real minutes). The receiver verifies every signature with the
``standardwebhooks`` library. Prints delivered / lost / duplicated counts:

- delivered: deliveries whose ``webhook-id`` the receiver acknowledged (2xx);
- lost: deliveries created but never acknowledged;
- duplicated: ``webhook-id``\\s acknowledged more than once.

    .venv/bin/python scripts/bench_webhooks.py                 # throw-away SQLite database
    KEFU_DATABASE_URL=postgres://... .venv/bin/python scripts/bench_webhooks.py --tickets 500
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--replies", type=int, default=1, help="agent replies per ticket")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--fail", type=float, default=0.5, help="share of requests the receiver fails")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    os.environ.setdefault("KEFU_DATA_DIR", tempfile.mkdtemp(prefix="kefu-bench-webhooks-"))
    os.environ["KEFU_WEBHOOKS_ALLOW_PRIVATE"] = "1"  # the receiver is on 127.0.0.1
    os.environ.setdefault("KEFU_WEBHOOKS_DISABLE_AFTER", "0")  # a bench endpoint is never given up
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import close_old_connections, connection
    from django.utils import timezone
    from standardwebhooks.webhooks import Webhook

    from kefu.accounts.actions import do_ensure_user
    from kefu.accounts.models import Role
    from kefu.inbox import durable
    from kefu.tickets import actions as ticket_actions
    from kefu.tickets.models import Category, Channel, MessageKind
    from kefu.webhooks.actions import do_create_endpoint, send_delivery
    from kefu.webhooks.models import Delivery, DeliveryStatus
    from kefu.webhooks.tests.receiver import Received, start_receiver

    call_command("migrate", verbosity=0)
    Delivery.objects.all().delete()
    rng = random.Random(args.seed)
    receiver = start_receiver()
    admin = do_ensure_user(email="bench-admin@example.com", role=Role.ADMIN)
    endpoint, secret = do_create_endpoint(
        url=receiver.url, events=["ticket.created", "message.created"], actor=admin
    )
    verifier = Webhook(secret)
    bad_signatures = Counter[str]()
    decide_lock = threading.Lock()

    def decide(request: Received) -> int:
        try:
            verifier.verify(request.body, request.headers)
        except Exception:
            bad_signatures["bad"] += 1
            return 400
        with decide_lock:
            fail = rng.random() < args.fail
        return 500 if fail else 200

    receiver.decide = decide
    customer = do_ensure_user(email="bench-customer@example.com")
    agent = do_ensure_user(email="bench-agent@example.com", role=Role.AGENT)
    category = Category.objects.filter(is_active=True).order_by("id").first()
    assert category is not None
    started = time.perf_counter()
    for n in range(args.tickets):
        submission = ticket_actions.do_create_ticket(
            customer=customer,
            category=category,
            title=f"Bench ticket {n}",
            description="Deposit not credited.",
            channel=Channel.API,
            language="en",
            priority=None,
            coin="",
            network="",
            amount=None,
            tx_hash="",
            order_number="",
            files=[],
            actor=customer,
            ip_address=None,
        )
        for _ in range(args.replies):
            ticket_actions.check_add_message(
                ticket=submission.ticket,
                author=agent,
                body="Checking.",
                kind=MessageKind.PUBLIC,
                channel=Channel.API,
            )
    created = Delivery.objects.filter(endpoint=endpoint).count()
    print(
        f"{connection.vendor}: {created} deliveries from {args.tickets} tickets ({time.perf_counter() - started:.1f} s)"
    )

    barrier = threading.Barrier(args.workers + 1)
    done = threading.Event()
    rounds = 0

    def worker() -> None:
        while True:
            barrier.wait()
            if done.is_set():
                close_old_connections()
                return
            for pk in durable.due(Delivery, DeliveryStatus.PENDING, limit=10_000, endpoint__is_active=True):
                send_delivery(pk)
            barrier.wait()

    threads = [threading.Thread(target=worker) for _ in range(args.workers)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    while Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).exists():
        rounds += 1
        barrier.wait()  # the workers sweep and send
        barrier.wait()  # ... and are done: fast-forward the back-off
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
    done.set()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    receiver.stop()

    acked = Counter(r.headers["webhook-id"] for r in receiver.requests if 200 <= r.answered < 300)
    ids = set(Delivery.objects.filter(endpoint=endpoint).values_list("message_id", flat=True))
    attempts = Counter(Delivery.objects.filter(endpoint=endpoint).values_list("attempts", flat=True))
    failed = Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.FAILED).count()
    errors = Counter(
        error.split(":")[0]
        for error in Delivery.objects.exclude(last_error="").values_list("last_error", flat=True)
    )
    print(
        f"requests {len(receiver.requests)}, failed by the receiver "
        f"{sum(1 for r in receiver.requests if r.answered >= 500)}, bad signatures {bad_signatures['bad']}"
    )
    print(
        f"rounds {rounds}, {args.workers} workers, {elapsed:.1f} s; attempts per delivery: {dict(sorted(attempts.items()))}"
    )
    print(
        f"delivered {len(ids & set(acked))} / {len(ids)}, lost {len(ids - set(acked))}, "
        f"duplicated {sum(1 for count in acked.values() if count > 1)}, marked failed {failed}"
    )
    if errors:
        print(f"last errors of deliveries that still hold one: {dict(errors)}")


if __name__ == "__main__":
    main()
