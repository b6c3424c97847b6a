"""Benchmark: concurrent customers, agents and mail against the embedded default (SQLite).

Starts the real server (``kefu serve``) on a fresh temporary data directory and a free port,
with the SMTP receiver on, and — as soon as it answers, while the bot's model is still being
trained or loaded — runs at the same time:

* bot conversations: ``--bot-clients`` customers, each a conversation of ``--bot-messages``
  messages over ``POST /api/v1/bot/messages``;
* ticket creation: ``--ticket-clients`` customers, ``--tickets`` each (``POST /api/v1/tickets``);
* agent replies: ``--agent-clients`` agents, ``--replies`` each on existing tickets;
* inbound mail: ``--mails`` messages to the SMTP receiver from distinct senders.

Prints, per kind, the number of requests, the errors (HTTP 5xx, SMTP 4xx/5xx, exceptions) and
latency percentiles, then the server's "database is locked" lines. Not a test: numbers, no
assertions. ``--rounds`` repeats the load on the warm server (after the first round the model
is loaded).

    .venv/bin/python scripts/bench_sqlite_contention.py --bot-clients 8 --mails 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "我的USDT充值两个小时了还没到账",
    "提现一直在审核中怎么办",
    "How do I reset my 2FA?",
    "转错网络了，币还能找回来吗",
    "手续费为什么这么高",
    "I sent ETH on the wrong network",
    "账户被冻结了",
    "怎么修改绑定的手机号",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# --- set-up, in a child process with the benchmark's settings -------------------------------


def setup_accounts(customers: int, agents: int, tickets_per_agent: int) -> dict:
    """Users, API tokens and a few tickets for the agents to answer (runs before the server)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from kefu.accounts.actions import do_add_team_member, do_create_api_token, do_ensure_user
    from kefu.accounts.models import Team
    from kefu.tickets.actions import check_create_ticket
    from kefu.tickets.models import Category

    category = Category.objects.get(slug="deposit-not-credited")
    out: dict = {"customers": [], "agents": [], "cases": []}
    for i in range(customers):
        user = do_ensure_user(email=f"bench-c{i}@example.com", password="bench-pass-123456")
        out["customers"].append(do_create_api_token(user=user, name="bench"))
    for i in range(agents):
        agent = do_ensure_user(email=f"bench-a{i}@example.com", role="agent", password="bench-pass-123456")
        for team in Team.objects.all():
            do_add_team_member(team=team, user=agent)
        out["agents"].append(do_create_api_token(user=agent, name="bench"))
    owner = do_ensure_user(email="bench-owner@example.com", password="bench-pass-123456")
    for i in range(max(1, agents) * tickets_per_agent):
        ticket = check_create_ticket(
            customer=owner, category=category, title=f"bench {i}", description="充值没有到账"
        ).ticket
        out["cases"].append(ticket.case_number)
    return out


# --- load ------------------------------------------------------------------------------------


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if error:
                self.errors.setdefault(kind, []).append(error)


def call(port: int, method: str, path: str, token: str, body: dict | None) -> tuple[int, dict | str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "zh-hans"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw or b"{}")
        except ValueError:
            return response.status, raw[:200].decode("utf-8", "replace")
    finally:
        connection.close()


def timed(results: Results, kind: str, function, *args) -> object:
    started = time.perf_counter()
    error = None
    value = None
    try:
        status, value = function(*args)
        if status >= 500 or status in (401, 403, 404):
            error = f"HTTP {status}: {str(value)[:120]}"
    except Exception as exc:  # noqa: BLE001 - every failure is a number here
        error = f"{type(exc).__name__}: {exc}"
    results.add(kind, time.perf_counter() - started, error)
    return value


def bot_client(port: int, token: str, messages: int, offset: int, results: Results) -> None:
    conversation = None
    for i in range(messages):
        body = {"conversation_id": conversation, "text": QUESTIONS[(offset + i) % len(QUESTIONS)]}
        value = timed(results, "bot message", call, port, "POST", "/api/v1/bot/messages", token, body)
        if isinstance(value, dict) and value.get("conversation_id"):
            conversation = value["conversation_id"]


def ticket_client(port: int, token: str, count: int, results: Results) -> None:
    for i in range(count):
        body = {"category": "deposit-not-credited", "title": f"充值未到账 {i}", "description": "转了100 USDT"}
        timed(results, "ticket create", call, port, "POST", "/api/v1/tickets", token, body)


def agent_client(port: int, token: str, cases: list[str], results: Results) -> None:
    for case in cases:
        body = {"body": "您好，我们正在核查，请稍候。"}
        timed(results, "agent reply", call, port, "POST", f"/api/v1/tickets/{case}/messages", token, body)


def send_mail(smtp_port: int, index: int, to: str) -> tuple[int, str]:
    message = EmailMessage()
    message["From"] = f"Customer {index} <mail-{index}@customer.example>"
    message["To"] = to
    message["Subject"] = f"充值未到账 {index}"
    message["Message-ID"] = f"<bench-{index}-{time.time_ns()}@customer.example>"
    message.set_content("我昨天充值的USDT还没有到账，请帮忙查一下。")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=120) as smtp:
        try:
            smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            return exc.smtp_code, exc.smtp_error.decode("utf-8", "replace")
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return code, text.decode("utf-8", "replace")
    return 250, "ok"


def mail_client(smtp_port: int, indexes: range, to: str, results: Results) -> None:
    for index in indexes:
        started = time.perf_counter()
        error = None
        try:
            code, text = send_mail(smtp_port, index, to)
            if code >= 400:
                error = f"SMTP {code}: {text[:120]}"
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
        results.add("inbound mail", time.perf_counter() - started, error)


def wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


def run_round(args: argparse.Namespace, port: int, smtp_port: int, accounts: dict, round_no: int) -> Results:
    results = Results()
    threads: list[threading.Thread] = []
    tokens = accounts["customers"]
    for i in range(args.bot_clients):
        threads.append(
            threading.Thread(
                target=bot_client, args=(port, tokens[i], args.bot_messages, i + round_no, results)
            )
        )
    for i in range(args.ticket_clients):
        token = tokens[args.bot_clients + i]
        threads.append(threading.Thread(target=ticket_client, args=(port, token, args.tickets, results)))
    for i, token in enumerate(accounts["agents"]):
        cases = accounts["cases"][i * args.replies : (i + 1) * args.replies]
        threads.append(threading.Thread(target=agent_client, args=(port, token, cases, results)))
    senders = max(1, min(args.mails, 4))
    base = round_no * 100_000
    for s in range(senders):
        indexes = range(base + s, base + args.mails, senders)
        threads.append(threading.Thread(target=mail_client, args=(smtp_port, indexes, args.support, results)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def report(title: str, results: Results, wall: float) -> None:
    print(f"\n{title} (wall {wall:.1f} s)")
    print(f"{'kind':<15}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    total = errors = 0
    for kind, values in sorted(results.latencies.items()):
        ms = [v * 1000 for v in values]
        failed = len(results.errors.get(kind, []))
        total += len(values)
        errors += failed
        print(
            f"{kind:<15}{len(values):>9}{failed:>8}{percentile(ms, 50):>9.0f}{percentile(ms, 90):>9.0f}"
            f"{percentile(ms, 99):>9.0f}{max(ms):>9.0f}"
        )
    print(f"{'all':<15}{total:>9}{errors:>8}")
    for kind, messages in sorted(results.errors.items()):
        counts: dict[str, int] = {}
        for message in messages:
            counts[message] = counts.get(message, 0) + 1
        for message, n in sorted(counts.items(), key=lambda item: -item[1])[:3]:
            print(f"  {kind}: {n} × {message}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bot-clients", type=int, default=4)
    parser.add_argument("--bot-messages", type=int, default=6)
    parser.add_argument("--ticket-clients", type=int, default=4)
    parser.add_argument("--tickets", type=int, default=5)
    parser.add_argument("--agent-clients", type=int, default=2)
    parser.add_argument("--replies", type=int, default=5)
    parser.add_argument("--mails", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2, help="load rounds; the first starts at start-up")
    parser.add_argument("--support", default="support@lumenwallet.example", help="the receiver's address")
    parser.add_argument(
        "--model-cache",
        default="",
        help="reuse a trained model from here (default: train at start, as on a fresh install)",
    )
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:  # the child process that prepares the database
        customers, agents, per_agent = (int(x) for x in args.setup.split(","))
        print(json.dumps(setup_accounts(customers, agents, per_agent)))
        return 0

    data_dir = Path(tempfile.mkdtemp(prefix="kefu-bench-sqlite-"))
    port, smtp_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KEFU_DATABASE_URL", "KEFU_REDIS_URL", "KEFU_MODEL_CACHE")
    }
    env.update(
        KEFU_DATA_DIR=str(data_dir),
        KEFU_SMTP_LISTEN=f"127.0.0.1:{smtp_port}",
        KEFU_SUPPORT_EMAIL=args.support,
        KEFU_MAIL_INBOUND_ADDRESSES=args.support,
        KEFU_LOG_LEVEL=env.get("KEFU_LOG_LEVEL", "WARNING"),
        DJANGO_SETTINGS_MODULE="kefu.settings",
        PYTHONUNBUFFERED="1",
    )
    if args.model_cache:
        env["KEFU_MODEL_CACHE"] = args.model_cache
    customers = args.bot_clients + args.ticket_clients
    per_agent = args.replies * max(1, args.rounds)
    setup = subprocess.run(
        [sys.executable, __file__, "--setup", f"{customers},{args.agent_clients},{per_agent}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    accounts = json.loads(setup.stdout.strip().splitlines()[-1])
    log_path = data_dir / "server.log"
    print(f"data dir {data_dir}; server on :{port}, SMTP on :{smtp_port}; log {log_path}")
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "kefu", "serve", "--no-demo", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            started = time.monotonic()
            wait_for(smtp_port, started + 120)
            wait_for(port, started + 120)
            print(f"server listening after {time.monotonic() - started:.1f} s")
            all_results = Results()
            for round_no in range(args.rounds):
                round_accounts = {
                    **accounts,
                    "cases": accounts["cases"][round_no * args.replies * args.agent_clients :],
                }
                t0 = time.monotonic()
                results = run_round(args, port, smtp_port, round_accounts, round_no)
                label = "round 1, right after start-up" if round_no == 0 else f"round {round_no + 1}, warm"
                report(label, results, time.monotonic() - t0)
                for kind, values in results.latencies.items():
                    all_results.latencies.setdefault(kind, []).extend(values)
                for kind, values in results.errors.items():
                    all_results.errors.setdefault(kind, []).extend(values)
            report("all rounds", all_results, time.monotonic() - started)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    locked = [
        line for line in log_path.read_text(errors="replace").splitlines() if "database is locked" in line
    ]
    print(f"\nserver log: {len(locked)} 'database is locked' lines")
    for line in locked[:5]:
        print("  " + line[:200])
    return 0


if __name__ == "__main__":
    sys.exit(main())
