"""Benchmark: the reports summary (kefu.reports.metrics.summary) at a million tickets.

Fills a PostgreSQL database with ``--tickets`` tickets spread over a year (one INSERT ... SELECT
from generate_series: channels, categories, 70 % with a first reply, two SLA timers each,
surveys for a tenth), then times the summary for periods of a day, a week, 30 days and a year.
Prints p50/p99/max per period. Not a test: numbers only (docs/reports.md).

    KEFU_DATABASE_URL=postgres://... .venv/bin/python scripts/bench_reports.py --tickets 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

CHANNELS = ["portal", "email", "chat", "api", "telegram", "whatsapp", "phone"]
PREFIX = "BENCH-"


def populate(count: int) -> None:
    from django.db import connection

    from kefu.accounts.actions import do_ensure_user
    from kefu.tickets.models import Category

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket WHERE case_number LIKE %s", [PREFIX + "%"])
        have = cursor.fetchone()[0]
        if have >= count:
            return
        customer = do_ensure_user(email="bench-reports@example.com")
        categories = list(Category.objects.values_list("pk", flat=True))
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO tickets_ticket (case_number, title, description, status, priority, tier, channel,
                language, coin, network, tx_hash, order_number, security_flag, created_at, updated_at,
                first_response_at, category_id, customer_id, last_seq)
            SELECT %s || n, 'bench', 'bench', CASE WHEN n %% 50 = 0 THEN 'bot' ELSE 'resolved' END, 2, 1,
                (%s::text[])[1 + n %% %s], 'en', '', '', '', '', false,
                now() - (n * (365.0 * 86400 / %s)) * interval '1 second', now(),
                CASE WHEN n %% 10 < 7 THEN now() - (n * (365.0 * 86400 / %s)) * interval '1 second'
                     + ((n * 7919) %% 7200) * interval '1 second' END,
                (%s::bigint[])[1 + n %% %s], %s, 1
            FROM generate_series(%s::bigint, %s::bigint) AS n
            """,
            [
                PREFIX,
                CHANNELS,
                len(CHANNELS),
                count,
                count,
                categories,
                len(categories),
                customer.pk,
                have + 1,
                count,
            ],
        )
        cursor.execute(
            """
            INSERT INTO sla_slatimer (ticket_id, kind, target_seconds, started_at, due_at, met_at, breached_at,
                never_pauses)
            SELECT t.id, k.kind, 3600, t.created_at, t.created_at + interval '1 hour',
                CASE WHEN t.id %% 5 <> 0 THEN t.created_at + interval '30 minutes' END,
                CASE WHEN t.id %% 5 = 0 THEN t.created_at + interval '1 hour' END, false
            FROM tickets_ticket t CROSS JOIN (VALUES ('first_reply'), ('resolution')) AS k(kind)
            WHERE t.case_number LIKE %s AND NOT EXISTS (SELECT 1 FROM sla_slatimer s WHERE s.ticket_id = t.id)
            """,
            [PREFIX + "%"],
        )
        cursor.execute(
            """
            INSERT INTO chat_csatsurvey (token, customer_id, ticket_id, rating, comment, created_at, expires_at,
                answered_at)
            SELECT 'bench-' || t.id, t.customer_id, t.id, 1 + t.id %% 5, '', t.created_at,
                t.created_at + interval '14 days', t.created_at + interval '2 hours'
            FROM tickets_ticket t
            WHERE t.case_number LIKE %s AND t.id %% 10 = 0
            ON CONFLICT (token) DO NOTHING
            """,
            [PREFIX + "%"],
        )
        cursor.execute("ANALYZE tickets_ticket; ANALYZE sla_slatimer; ANALYZE chat_csatsurvey")
        print(f"populated {count - have:,} tickets in {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from kefu.reports import metrics

    if connection.vendor != "postgresql":
        raise SystemExit("set KEFU_DATABASE_URL to a PostgreSQL database")
    call_command("migrate", verbosity=0)
    populate(args.tickets)
    total = metrics.Ticket.objects.count()
    print(f"tickets in the table: {total:,}")
    now = timezone.now()
    for label, days in (("1 day", 1), ("7 days", 7), ("30 days", 30), ("365 days", 365)):
        window = metrics.Window(since=now - timedelta(days=days), until=now)
        timings = []
        result = metrics.summary(window)  # warm the cache once
        for _ in range(args.runs):
            t0 = time.perf_counter()
            metrics.summary(window)
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        print(
            f"{label:>8}: {result['tickets_created']['total']:>9,} tickets  "
            f"p50 {statistics.median(timings):7.1f} ms  p99 {p99:7.1f} ms  max {timings[-1]:7.1f} ms"
        )


if __name__ == "__main__":
    main()
