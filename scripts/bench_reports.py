"""Benchmark: the report pages and the summary API at a million tickets.

Fills a PostgreSQL database with ``--tickets`` tickets spread over a year (one INSERT ... SELECT
from generate_series: channels, categories, four teams of five agents, 70 % with a first reply,
60 % resolved, two SLA timers each, surveys for a tenth), optionally (re)builds the rollups
(``--rebuild``), then requests each report page (the summary and every family, through
Django's test client as a signed-in supervisor) and the summary API for periods of 1, 7, 30
and 365 days ending today, and prints p50/p99/max per page and period. ``--live`` also times
the summary computed from the live tables only. Not a test: numbers only (docs/reports.md).

    KEFU_DATABASE_URL=postgres://... .venv/bin/python scripts/bench_reports.py --tickets 1000000 --rebuild
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
    from kefu.accounts.models import Role, Team
    from kefu.tickets.models import Category

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket WHERE case_number LIKE %s", [PREFIX + "%"])
        have = cursor.fetchone()[0]
        if have >= count:
            return
        customer = do_ensure_user(email="bench-reports@example.com")
        categories = list(Category.objects.values_list("pk", flat=True))
        # Four teams of five agents: the figures by team and by agent have real groups.
        teams = [
            Team.objects.get_or_create(
                slug=f"bench-team-{t}", defaults={"name_zh": f"组{t}", "name_en": f"Team {t}"}
            )[0].pk
            for t in range(1, 5)
        ]
        agents = [
            do_ensure_user(email=f"bench-agent-{a}@example.com", role=Role.AGENT).pk for a in range(1, 21)
        ]
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO tickets_ticket (case_number, title, description, status, priority, tier, channel,
                language, coin, network, tx_hash, order_number, security_flag, created_at, updated_at,
                first_response_at, category_id, customer_id, last_seq, team_id, assignee_id, resolved_at)
            SELECT %s || n, 'bench', 'bench', CASE WHEN n %% 50 = 0 THEN 'bot' ELSE 'resolved' END, 2, 1,
                (%s::text[])[1 + n %% %s], 'en', '', '', '', '', false,
                now() - (n * (365.0 * 86400 / %s)) * interval '1 second', now(),
                CASE WHEN n %% 10 < 7 THEN now() - (n * (365.0 * 86400 / %s)) * interval '1 second'
                     + ((n * 7919) %% 7200) * interval '1 second' END,
                (%s::bigint[])[1 + n %% %s], %s, 1,
                (%s::bigint[])[1 + (n %% 20) / 5], (%s::bigint[])[1 + n %% 20],
                CASE WHEN n %% 50 <> 0 AND n %% 10 < 6 THEN now() - (n * (365.0 * 86400 / %s)) * interval '1 second'
                     + (600 + (n * 104729) %% 172800) * interval '1 second' END
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
                teams,
                agents,
                count,
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


def timed(fn, runs: int) -> tuple[float, float, float]:
    fn()  # warm the caches once
    timings = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return statistics.median(timings), p99, timings[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true", help="(re)build the rollups of every day first")
    parser.add_argument("--live", action="store_true", help="time the live queries too (no rollups)")
    parser.add_argument("--days", default="1,7,30,365", help="periods to time, in days")
    parser.add_argument("--pages", default="", help="comma-separated families (default: all)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from kefu.accounts.actions import do_ensure_user
    from kefu.accounts.models import Role
    from kefu.reports import metrics, rollups

    if connection.vendor != "postgresql":
        raise SystemExit("set KEFU_DATABASE_URL to a PostgreSQL database")
    call_command("migrate", verbosity=0)
    populate(args.tickets)
    total = metrics.Ticket.objects.count()
    print(f"tickets in the table: {total:,}")
    if args.rebuild:
        started = time.perf_counter()
        built = rollups.rebuild()
        print(f"rebuilt the rollups of {built} days in {time.perf_counter() - started:.0f} s")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    boss = do_ensure_user(email="bench-boss@example.com", role=Role.SUPERVISOR)
    client = Client()
    client.force_login(boss)
    today = timezone.localdate()
    families = [f for f in (args.pages.split(",") if args.pages else metrics.FAMILIES) if f]
    for days in (int(d) for d in args.days.split(",")):
        first = today - timedelta(days=days - 1)
        query = f"since={first.isoformat()}&until={today.isoformat()}"
        since = rollups.midnight(first).isoformat()
        api = f"/api/v1/reports/summary?since={since.replace('+', '%2B')}"
        pages = [("summary API", api), ("summary page", f"/reports/?{query}")]
        pages += [(f"/reports/{f}/", f"/reports/{f}/?{query}") for f in families]
        for label, url in pages:
            status = client.get(url).status_code
            if status != 200:
                print(f"{days:>4} d {label:<24} HTTP {status}")
                continue
            p50, p99, worst = timed(lambda url=url: client.get(url), args.runs)
            print(f"{days:>4} d {label:<24} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {worst:7.1f} ms")
        if args.live:
            window = metrics.Window(since=rollups.midnight(first), until=timezone.now())
            with_rollups = rollups.plan

            def live_only(w, grain):
                return [], [w]

            rollups.plan = live_only
            try:
                p50, p99, worst = timed(
                    lambda window=window: metrics.summary(window), max(3, args.runs // 10)
                )
            finally:
                rollups.plan = with_rollups
            print(
                f"{days:>4} d {'summary, live only':<24} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {worst:7.1f} ms"
            )


if __name__ == "__main__":
    main()
