"""Benchmark: ticket lists and detail at a million tickets, through the real HTTP stack.

Needs PostgreSQL: ``KEFU_DATABASE_URL=postgres://... python scripts/bench_tickets.py``.
Creates (once) N tickets with two messages each using COPY, starts ``kefu serve`` on a free
port and times the agent queue list, a customer's ticket list and a ticket detail page,
200 requests each. Prints p50/p99 in milliseconds and the server's CPU per request. Not a test: numbers, no assertions.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def populate(total: int, customers: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from kefu.accounts.actions import do_add_team_member, do_ensure_user
    from kefu.accounts.models import Team, User
    from kefu.tickets.models import Category, Ticket

    agent = do_ensure_user(email="bench-agent@example.com", role="agent", password="bench-pass-123")
    for team in Team.objects.all():
        do_add_team_member(team=team, user=agent)
    do_ensure_user(email="bench-customer@example.com", password="bench-pass-123")
    have = Ticket.objects.count()
    if have >= total:
        print(f"database already has {have:,} tickets")
        return
    existing = User.objects.filter(email__startswith="bulk-").count()
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,"
            " date_joined, public_id, display_name, phone, role, language, totp_secret, totp_enabled) FROM STDIN"
        ) as copy,
    ):
        now = timezone.now()
        for i in range(existing, customers):
            email = f"bulk-{i}@example.com"
            copy.write_row(
                (
                    "!",
                    False,
                    email,
                    "",
                    "",
                    email,
                    False,
                    True,
                    now,
                    secrets.token_hex(16),
                    "",
                    "",
                    "customer",
                    "zh-hans",
                    "",
                    False,
                )
            )
    customer_ids = list(User.objects.filter(role="customer").values_list("pk", flat=True))
    featured = User.objects.get(email="bench-customer@example.com").pk
    categories = list(
        Category.objects.filter(parent__isnull=False).select_related("parent", "team", "parent__team")
    )
    routes = [(c.pk, (c.routed_team().pk if c.routed_team() else None)) for c in categories]
    statuses = ["new", "open", "pending_customer", "on_hold", "resolved", "closed"]
    weights = [5, 15, 10, 3, 30, 37]
    start = timezone.now() - timedelta(days=365)
    batch = 100_000
    made = have
    t0 = time.perf_counter()
    rng = random.Random(7)
    while made < total:
        n = min(batch, total - made)
        buf = io.StringIO()
        rows = []
        for i in range(n):
            customer = featured if rng.random() < 0.0002 else rng.choice(customer_ids)
            category, team = rng.choice(routes)
            created = start + timedelta(seconds=rng.randrange(365 * 86400))
            updated = created + timedelta(seconds=rng.randrange(86400 * 3))
            status = rng.choices(statuses, weights)[0]
            assignee = agent.pk if rng.random() < 0.01 else None
            case = f"KF-{created:%Y%m%d}-{made + i:08d}"
            rows.append(
                (
                    case,
                    customer,
                    category,
                    team,
                    assignee,
                    f"工单 {made + i} 充值未到账",
                    "描述 " * 20,
                    status,
                    rng.randint(1, 4),
                    1,
                    "portal",
                    "zh-hans",
                    "USDT",
                    "TRC-20",
                    None,
                    "",
                    "",
                    False,
                    None,
                    created,
                    updated,
                    None,
                    None,
                )
            )
        with connection.cursor() as cursor:
            with cursor.copy(
                "COPY tickets_ticket (case_number, customer_id, category_id, team_id, assignee_id, title, description,"
                " status, priority, tier, channel, language, coin, network, amount, tx_hash, order_number,"
                " security_flag, merged_into_id, created_at, updated_at, first_response_at, resolved_at) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                "SELECT id, customer_id, created_at FROM tickets_ticket ORDER BY id DESC LIMIT %s", [n]
            )
            ids = cursor.fetchall()
            with cursor.copy(
                "COPY tickets_message (public_id, ticket_id, author_id, kind, body, channel, created_at) FROM STDIN"
            ) as copy:
                for ticket_id, customer_id, created in ids:
                    copy.write_row(
                        (
                            secrets.token_hex(16),
                            ticket_id,
                            customer_id,
                            "public",
                            "描述 " * 20,
                            "portal",
                            created,
                        )
                    )
                    copy.write_row(
                        (
                            secrets.token_hex(16),
                            ticket_id,
                            agent.pk,
                            "public",
                            "您好，正在处理",
                            "agent",
                            created + timedelta(minutes=5),
                        )
                    )
        made += n
        print(f"  {made:,} tickets ({time.perf_counter() - t0:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    del buf


def start_server(wait_s: float = 30) -> tuple[subprocess.Popen[bytes], str]:
    """`kefu serve --no-demo` on a free port, once it answers; (the process, its base URL)."""
    import httpx

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kefu", "serve", "--no-demo", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/accounts/login/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return server, base


def login(client, base: str, email: str) -> None:
    client.get(f"{base}/accounts/login/")
    token = client.cookies.get("csrftoken")
    r = client.post(
        f"{base}/accounts/login/",
        data={"username": email, "password": "bench-pass-123", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
    )
    if r.status_code not in (200, 302):
        raise SystemExit(f"login failed for {email}: {r.status_code}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(client, url: str, n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if not os.environ.get("KEFU_DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set KEFU_DATABASE_URL=postgres://... (the benchmark is for PostgreSQL)")
    import django
    import httpx

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    populate(args.tickets, args.customers)
    from kefu.tickets.models import Ticket

    featured = (
        Ticket.objects.filter(customer__email="bench-customer@example.com").order_by("-updated_at").first()
    )
    server, base = start_server()
    try:
        agent = httpx.Client(follow_redirects=False)
        login(agent, base, "bench-agent@example.com")
        customer = httpx.Client(follow_redirects=False)
        login(customer, base, "bench-customer@example.com")
        print(f"tickets={Ticket.objects.count():,} requests={args.requests} each")
        cases = [
            ("agent queue list (team 资产组, active)", agent, "/workspace/?queue=team&team=assets"),
            ("agent queue list (unassigned, active)", agent, "/workspace/?queue=unassigned"),
            ("agent queue list (mine)", agent, "/workspace/?queue=mine&status=any"),
            ("customer ticket list", customer, "/portal/"),
            ("customer ticket detail", customer, f"/portal/tickets/{featured.case_number}/"),
            ("agent ticket detail", agent, f"/workspace/tickets/{featured.case_number}/"),
            ("API ticket list (agent)", agent, "/api/v1/tickets?queue=all&status=open"),
        ]
        for name, client, url in cases:
            timed(client, base + url, 5)  # warm up
            cpu0 = cpu_seconds(server.pid)
            p50, p99 = timed(client, base + url, args.requests)
            # The server's own CPU per request: what the code costs, whatever else the machine
            # runs (wall-clock tails on a shared machine are mostly waiting for a core).
            cpu = (cpu_seconds(server.pid) - cpu0) * 1000 / args.requests
            print(f"{name:<42} p50={p50:7.1f} ms  p99={p99:7.1f} ms  server CPU {cpu:5.1f} ms/request")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
