"""Benchmark: the SLA sweep over a million open timers (PostgreSQL).

``KEFU_DATABASE_URL=postgres://kefu:kefu@127.0.0.1:5432/kefu_bench python scripts/bench_sla.py``

Loads (once, with COPY) N open timers on N/4 open tickets (first reply, next reply, periodic
update and resolution each), their deadlines spread over the next 30 days, then times:

* the claim query's plan (it must be an index range scan on ``sla_timer_due``, not a scan of
  the million rows);
* a sweep that finds nothing due (the common case: most sweeps);
* sweeps that find K timers due at once (K warnings and K breaches, each publishing its event,
  writing its audit notice and its system note), as after an outage;

and compares them with the sweep interval (``KEFU_SLA_SWEEP_SECONDS``). Not a test: numbers,
no assertions.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

SPREAD_DAYS = 30


def populate(total: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from kefu.accounts.actions import do_ensure_user
    from kefu.sla.models import SlaPolicy, SlaTimer, TimerKind
    from kefu.tickets.models import Category, Ticket

    have = SlaTimer.objects.count()
    if have >= total:
        print(f"database already has {have:,} timers")
        return
    customer = do_ensure_user(email="bench-sla-customer@example.com", password="bench-pass-123")
    category = Category.objects.get(slug="deposit-not-credited")
    team_id = category.routed_team().pk  # type: ignore[union-attr]
    policy, _ = SlaPolicy.objects.get_or_create(
        name="bench", defaults={"first_reply_minutes": 60, "resolution_minutes": 2400}
    )
    tickets = total // 4
    start_id = (Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    now = timezone.now()
    rng = random.Random(16)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY tickets_ticket (case_number, customer_id, category_id, team_id, title, description, status,"
            " priority, tier, channel, language, coin, network, tx_hash, order_number, security_flag,"
            " created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(tickets):
                created = now - timedelta(seconds=rng.randrange(86400))
                copy.write_row(
                    (
                        f"KF-SLA-{start_id + i:010d}",
                        customer.pk,
                        category.pk,
                        team_id,
                        f"工单 {i}",
                        "充值未到账",
                        "open",
                        2,
                        1,
                        "portal",
                        "zh-hans",
                        "",
                        "",
                        "",
                        "",
                        False,
                        created,
                        created,
                    )
                )
        ids = list(
            Ticket.objects.filter(case_number__startswith="KF-SLA-")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        with cursor.copy(
            "COPY sla_slatimer (ticket_id, policy_id, kind, target_seconds, started_at, due_at, warn_at,"
            " never_pauses) FROM STDIN"
        ) as copy:
            for ticket_id in ids:
                for kind in TimerKind.values:
                    target = 3600
                    due = now + timedelta(seconds=rng.randrange(60, SPREAD_DAYS * 86400))
                    copy.write_row(
                        (
                            ticket_id,
                            policy.pk,
                            kind,
                            target,
                            due - timedelta(seconds=target),
                            due,
                            due - timedelta(seconds=target / 4),
                            False,
                        )
                    )
        cursor.execute("ANALYZE sla_slatimer")
        cursor.execute("ANALYZE tickets_ticket")
    print(f"loaded {len(ids):,} tickets and {len(ids) * 4:,} timers in {time.perf_counter() - t0:.0f} s")


def plan() -> None:
    from django.db import connection
    from django.utils import timezone

    from kefu.sla.models import OPEN_Q, SlaTimer

    query = (
        SlaTimer.objects.filter(OPEN_Q, breached_at__isnull=True, due_at__lte=timezone.now())
        .order_by("due_at")
        .values_list("pk", flat=True)[:1000]
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("claim query plan:")
        for (line,) in cursor.fetchall():
            print("   ", line)


def make_due(count: int) -> list[int]:
    """Move ``count`` open timers' deadlines (and warning points) into the past."""
    from django.db import connection
    from django.utils import timezone

    past = timezone.now() - timedelta(minutes=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_slatimer SET due_at = %s, warn_at = %s WHERE id IN ("
            " SELECT id FROM sla_slatimer WHERE met_at IS NULL AND stopped_at IS NULL AND breached_at IS NULL"
            " ORDER BY random() LIMIT %s) RETURNING id",
            [past, past - timedelta(minutes=15), count],
        )
        return [row[0] for row in cursor.fetchall()]


def reset(ids: list[int]) -> None:
    from django.db import connection
    from django.utils import timezone

    later = timezone.now() + timedelta(days=SPREAD_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_slatimer SET due_at = %s, warn_at = %s, breached_at = NULL, warned_at = NULL"
            " WHERE id = ANY(%s)",
            [later, later - timedelta(minutes=15), ids],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=1_000_000)
    parser.add_argument("--due", default="100,1000,10000", help="backlog sizes to sweep (comma-separated)")
    parser.add_argument("--idle-runs", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from kefu.sla.actions import sweep_due_timers
    from kefu.sla.models import OPEN_Q, SlaTimer

    if connection.vendor != "postgresql":
        raise SystemExit("set KEFU_DATABASE_URL to a PostgreSQL database")
    call_command("migrate", verbosity=0)
    populate(args.timers)
    open_count = SlaTimer.objects.filter(OPEN_Q).count()
    interval = float(settings.KEFU_SLA_SWEEP_SECONDS)
    print(
        f"open timers: {open_count:,}; sweep interval {interval:g} s; batch {settings.KEFU_SLA_SWEEP_BATCH}"
    )
    sweep_due_timers()  # whatever is due from an earlier run
    plan()

    idle = []
    for _ in range(args.idle_runs):
        t0 = time.perf_counter()
        sweep_due_timers()
        idle.append((time.perf_counter() - t0) * 1000)
    idle.sort()
    print(
        f"sweep with nothing due: median {statistics.median(idle):.2f} ms, "
        f"max {idle[-1]:.2f} ms ({args.idle_runs} runs)"
    )
    steady = open_count * interval / (SPREAD_DAYS * 86400)
    print(f"steady state with deadlines spread over {SPREAD_DAYS} days: ~{steady:.1f} breaches per sweep")
    for count in (int(c) for c in args.due.split(",") if c):
        ids = make_due(count)
        t0 = time.perf_counter()
        result = sweep_due_timers()
        seconds = time.perf_counter() - t0
        reset(ids)
        rate = (result.breached + result.warned) / seconds if seconds else 0
        print(
            f"backlog {count:>6,}: warned {result.warned:,}, breached {result.breached:,} in {seconds:.2f} s"
            f" ({seconds / max(count, 1) * 1000:.2f} ms a timer, {rate:,.0f} events/s;"
            f" {seconds / interval * 100:.1f} % of the interval)"
        )


if __name__ == "__main__":
    main()
