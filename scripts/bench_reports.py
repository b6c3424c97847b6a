"""Benchmark: every report page and the summary API at a million tickets.

Fills a PostgreSQL database (``KEFU_DATABASE_URL``; an existing benchmark database is reused:
its ``BENCH-`` tickets count) with ``--tickets`` tickets spread over a year (one INSERT ... SELECT
from generate_series: channels, categories, four teams of five agents, 70 % with a first reply,
60 % resolved, two SLA timers each, surveys for a tenth) and a year of operations rows (300,000
chats with waits and estimates, one in twenty abandoned; 150,000 queued calls with call-backs;
500,000 bot conversations on the tickets with 900,000 bot answers; the agents' status intervals,
four a day each; 300 queries without results a day; 100,000 article votes; 30,000 chat surveys),
optionally (re)builds the rollups (``--rebuild``), then requests each report page (the summary
and every family, through Django's test client as a signed-in supervisor) and the summary API
for periods of 1, 7, 30 and 365 days ending today, and prints p50/p99/max per page and period.
``--filters`` also times every page for the last period with each filter alone (team, channel,
category, agent) and all four together. ``--open-unresolved`` turns the unresolved tickets into
open ones (a backlog of about 400,000 at a million tickets). ``--live`` also times the summary computed from the
live tables only. Not a test: numbers only (docs/reports.md).

    KEFU_DATABASE_URL=postgres://... nice -n 10 .venv/bin/python scripts/bench_reports.py --tickets 1000000 --rebuild
    ... scripts/bench_reports.py --pages live_chat,phone,bot,helpcentre,csat,agents --filters
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


YEAR = "365.0 * 86400"
INTENTS = ["deposit_not_credited", "withdrawal_pending", "password_reset", "fees", "out_of_scope", "greeting"]
REASONS = ["requested", "unsolved", "urgent", "bot_failed", "complaint", "frustrated"]


def populate_operations() -> None:
    from django.db import connection

    from kefu.accounts.actions import do_ensure_user
    from kefu.accounts.models import Role
    from kefu.helpcenter.models import Article
    from kefu.inbox.models import Inbox, InboxKind

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM chat_chatconversation WHERE resume_key LIKE 'bench-%'")
        if cursor.fetchone()[0]:
            return
        started = time.perf_counter()
        customer = do_ensure_user(email="bench-reports@example.com").pk
        agents = [do_ensure_user(email=f"bench-agent-{a}@example.com", role=Role.AGENT).pk for a in range(1, 21)]
        inbox = Inbox.objects.get_or_create(kind=InboxKind.VOICE, name="Bench hotline")[0].pk
        articles = [
            Article.objects.get_or_create(
                slug=f"bench-{a}", language="en", defaults={"title": f"Bench {a}", "body_markdown": "b"}
            )[0].pk
            for a in range(40)
        ]
        cursor.execute(
            f"""
            INSERT INTO chat_chatconversation (public_id, resume_key, status, language, intent, slots, priority,
                tier, security, customer_read_seq, agent_read_seq, created_at, updated_at, close_reason,
                customer_connections, customer_id, assignee_id, queued_at, wait_estimate_at,
                wait_estimate_seconds, first_assigned_at, assigned_at, closed_at)
            SELECT gen_random_uuid(), 'bench-' || n, 'closed', 'en', '', '{{}}', 2, 1, false, 0, 0, q, q,
                CASE WHEN n %% 20 = 0 THEN 'abandoned' ELSE 'resolved' END, 0, %s,
                CASE WHEN n %% 20 <> 0 THEN (%s::bigint[])[1 + n %% 20] END, q, q, (n * 104729) %% 600,
                CASE WHEN n %% 20 <> 0 THEN q + ((n * 7919) %% 600) * interval '1 second' END,
                CASE WHEN n %% 20 <> 0 THEN q + ((n * 7919) %% 600) * interval '1 second' END,
                q + (900 + (n * 31) %% 1500) * interval '1 second'
            FROM (SELECT n, now() - (n * ({YEAR} / 300000)) * interval '1 second' AS q
                  FROM generate_series(1::bigint, 300000) AS n) AS s
            """,
            [customer, agents],
        )
        cursor.execute(
            """
            INSERT INTO chat_agentpresencelog (user_id, status, started_at, ended_at)
            SELECT a, seg.status, d + seg.s * interval '1 hour', d + seg.e * interval '1 hour'
            FROM unnest(%s::bigint[]) AS a,
                 generate_series(date_trunc('day', now()) - interval '365 days', date_trunc('day', now()),
                                 interval '1 day') AS d,
                 (VALUES ('online', 1, 4), ('away', 4, 5), ('online', 5, 10), ('offline', 10, 25)) AS seg(status, s, e)
            """,
            [agents],
        )
        cursor.execute(
            f"""
            INSERT INTO phone_call (call_sid, caller, called, language, menu_path, topic, status, outcome, retries,
                started_at, inbox_id, queued_at, answered_at, ended_at, agent_id)
            SELECT 'bench-' || n, '', '', 'en', '', '', 'completed',
                CASE WHEN n %% 10 < 8 THEN 'agent' WHEN n %% 10 = 8 THEN 'abandoned' ELSE 'callback' END, 0,
                q, %s, q,
                CASE WHEN n %% 10 < 8 THEN q + ((n * 13) %% 60) * interval '1 second' END,
                q + (60 + (n * 17) %% 600) * interval '1 second',
                CASE WHEN n %% 10 < 8 THEN (%s::bigint[])[1 + n %% 20] END
            FROM (SELECT n, now() - (n * ({YEAR} / 150000)) * interval '1 second' AS q
                  FROM generate_series(1::bigint, 150000) AS n) AS s
            """,
            [inbox, agents],
        )
        cursor.execute(
            """
            INSERT INTO phone_callback (place_at, status, attempts, last_outcome, created_at, updated_at, call_id,
                ticket_id)
            SELECT c.queued_at, (ARRAY['done', 'failed', 'waiting'])[1 + c.id % 3], 1, '', c.queued_at,
                c.queued_at, c.id, (SELECT min(id) FROM tickets_ticket)
            FROM phone_call c WHERE c.call_sid LIKE 'bench-%' AND c.outcome = 'callback'
            """
        )
        from kefu.bot.models import BotConversation

        # Columns without a database default that later migrations add (the idle close's reason).
        blank = [c for c in ("close_reason",) if c in {f.column for f in BotConversation._meta.concrete_fields}]
        cursor.execute(
            f"""
            INSERT INTO bot_botconversation (public_id, language, status, state, created_at, updated_at, ticket_id,
                customer_id{"".join(", " + c for c in blank)})
            SELECT gen_random_uuid(), 'en', 'bot', '{{}}', t.created_at, t.created_at, t.id, t.customer_id
                {"".join(", ''" for _c in blank)}
            FROM tickets_ticket t WHERE t.case_number LIKE 'BENCH-%' AND t.id % 2 = 0
            """
        )
        cursor.execute(
            """
            INSERT INTO tickets_message (public_id, kind, body, channel, created_at, ticket_id, client_id,
                external_id, extra, sender, seq)
            SELECT gen_random_uuid(), 'public', 'bench', 'bot', b.created_at + k * interval '30 seconds',
                b.ticket_id, '', '',
                CASE WHEN k = 3 AND b.id %% 4 = 0
                     THEN jsonb_build_object('intent', 'contact_human',
                                             'handoff_reason', (%s::text[])[1 + b.id %% 6])
                     ELSE jsonb_build_object('intent', (%s::text[])[1 + (b.id + k) %% 6]) END,
                'bot', 1000 + k
            FROM bot_botconversation b CROSS JOIN generate_series(1, 3) AS k
            WHERE b.id %% 5 <> 0
            """,
            [REASONS, INTENTS],
        )
        cursor.execute(
            """
            INSERT INTO helpcenter_searchmiss (day, language, query, searches, last_searched_at)
            SELECT d::date, CASE WHEN q % 2 = 0 THEN 'en' ELSE 'zh-hans' END, 'query ' || q, 1 + (q * 7) % 20,
                d + interval '12 hours'
            FROM generate_series(current_date - 364, current_date, interval '1 day') AS d,
                 generate_series(1, 300) AS q
            """
        )
        cursor.execute(
            f"""
            INSERT INTO helpcenter_articlefeedback (article_id, helpful, session_key, created_at, updated_at)
            SELECT (%s::bigint[])[1 + n %% 40], n %% 3 <> 0, 'bench-' || n, q, q
            FROM (SELECT n, now() - (n * ({YEAR} / 100000)) * interval '1 second' AS q
                  FROM generate_series(1::bigint, 100000) AS n) AS s
            """,
            [articles],
        )
        cursor.execute(
            """
            INSERT INTO chat_csatsurvey (token, customer_id, conversation_id, agent_id, rating, comment, created_at,
                expires_at, answered_at)
            SELECT 'bench-chat-' || c.id, c.customer_id, c.id, c.assignee_id,
                CASE WHEN c.id % 3 <> 0 THEN 1 + c.id % 5 END,
                CASE WHEN c.id % 7 = 0 THEN 'bench comment ' || c.id ELSE '' END,
                c.closed_at, c.closed_at + interval '14 days',
                CASE WHEN c.id % 3 <> 0 THEN c.closed_at + interval '10 minutes' END
            FROM chat_chatconversation c WHERE c.resume_key LIKE 'bench-%' AND c.id % 10 = 0
            """
        )
        for table in (
            "chat_chatconversation", "chat_agentpresencelog", "phone_call", "phone_callback",
            "bot_botconversation", "tickets_message", "helpcenter_searchmiss", "helpcenter_articlefeedback",
            "chat_csatsurvey",
        ):  # fmt: skip
            cursor.execute(f"ANALYZE {table}")
        print(f"populated the operations rows in {time.perf_counter() - started:.0f} s")


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
    parser.add_argument(
        "--filters", action="store_true", help="also time each filter and all four for the last period"
    )
    parser.add_argument(
        "--open-unresolved",
        action="store_true",
        help="make the benchmark's unresolved tickets open (a backlog of about 400,000 at a million); "
        "a plain UPDATE that marks no day: --rebuild once after it",
    )
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
    populate_operations()
    if args.open_unresolved:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tickets_ticket SET status = 'open' WHERE case_number LIKE %s AND status = 'resolved' "
                "AND resolved_at IS NULL",
                [PREFIX + "%"],
            )
            if cursor.rowcount and not args.rebuild:
                print(f"{cursor.rowcount:,} tickets opened: run once with --rebuild (their days are not marked)")
    total = metrics.Ticket.objects.count()
    print(f"tickets in the table: {total:,}, open: {metrics.Ticket.objects.filter(status='open').count():,}")
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

    def time_pages(days: int, pages: list[tuple[str, str]], tag: str = "") -> None:
        for label, url in pages:
            status = client.get(url).status_code
            if status != 200:
                print(f"{days:>4} d {label:<24} HTTP {status}")
                continue
            p50, p99, worst = timed(lambda url=url: client.get(url), args.runs)
            print(f"{days:>4} d {label:<24}{tag} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {worst:7.1f} ms", flush=True)

    from kefu.accounts.models import Team, User

    team = Team.objects.get(slug="bench-team-1").slug
    agent = User.objects.get(email="bench-agent-1@example.com").pk
    category = metrics.Category.objects.filter(parent__isnull=True).order_by("pk").values_list("slug", flat=True)[0]
    filters = {
        "team": f"team={team}",
        "channel": "channel=email",
        "category": f"category={category}",
        "agent": f"agent={agent}",
    }
    filters["all four"] = "&".join(filters.values())
    for days in (int(d) for d in args.days.split(",")):
        first = today - timedelta(days=days - 1)
        query = f"since={first.isoformat()}&until={today.isoformat()}"
        since = rollups.midnight(first).isoformat()
        api = f"/api/v1/reports/summary?since={since.replace('+', '%2B')}"
        pages = [("summary API", api), ("summary page", f"/reports/?{query}")]
        pages += [(f"/reports/{f}/", f"/reports/{f}/?{query}") for f in families]
        time_pages(days, pages)
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
    if args.filters:
        for name, narrow in filters.items():
            pages = [("summary page", f"/reports/?{query}&{narrow}")]
            pages += [(f"/reports/{f}/", f"/reports/{f}/?{query}&{narrow}") for f in families]
            time_pages(days, pages, f" [{name}]")


if __name__ == "__main__":
    main()
