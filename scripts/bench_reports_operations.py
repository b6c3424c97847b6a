"""Benchmark: the operations report pages (live chat, phone, bot, help centre, satisfaction,
agents) at a million tickets on PostgreSQL.

Fills the database as ``scripts/bench_reports.py`` does (``--tickets`` tickets over a year), then
adds a year of operations rows with generate_series: 300,000 chats (20 agents, waits and
estimates, one in twenty abandoned), 150,000 queued calls (answered, abandoned, call-backs),
500,000 bot conversations on the tickets with 900,000 bot answers (intents, out of scope,
hand-off reasons), the agents' status intervals (four a day each), 300 queries without results a
day, 100,000 article votes and 30,000 chat surveys; then times the six pages with
``bench_reports.py``'s timer for periods of 1, 7, 30 and 365 days. Not a test: numbers only
(docs/reports.md).

    KEFU_DATABASE_URL=postgres://... .venv/bin/python scripts/bench_reports_operations.py --runs 20
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

FAMILIES = "live_chat,phone,bot,helpcentre,csat,agents"
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
        cursor.execute(
            """
            INSERT INTO bot_botconversation (public_id, language, status, state, created_at, updated_at, ticket_id,
                customer_id)
            SELECT gen_random_uuid(), 'en', 'bot', '{}', t.created_at, t.created_at, t.id, t.customer_id
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


def main() -> None:
    import django

    django.setup()
    import bench_reports
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("set KEFU_DATABASE_URL to a PostgreSQL database")
    call_command("migrate", verbosity=0)
    tickets = 1_000_000
    if "--tickets" in sys.argv:
        tickets = int(sys.argv[sys.argv.index("--tickets") + 1])
    bench_reports.populate(tickets)
    populate_operations()
    with connection.cursor() as cursor:
        for table in ("tickets_ticket", "chat_chatconversation", "phone_call", "bot_botconversation", "tickets_message"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            print(f"{table}: {cursor.fetchone()[0]:,} rows")
    if "--pages" not in sys.argv:
        sys.argv += ["--pages", FAMILIES]
    bench_reports.main()


if __name__ == "__main__":
    main()
