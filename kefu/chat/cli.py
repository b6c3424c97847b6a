"""``kefu bench chat`` (the load benchmark) and ``kefu chat sweep`` (one housekeeping pass)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="load benchmarks")
    benches = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    b = benches.add_parser(
        "chat",
        help="N customers chatting with agents over WebSockets; prints p50/p99 customer→agent latency",
        description="Starts a server (or uses --url), signs in N customers and enough agents, lets every "
        "customer send a message every few seconds to an agent who answers, and measures the time "
        "from a customer's send to the agent's receive. The last line is "
        "'clients=N messages=M errors=E p50_ms=x p99_ms=y'.",
    )
    b.add_argument("--clients", type=int, default=100, help="concurrent customer connections")
    b.add_argument("--seconds", type=float, default=30.0, help="length of the measured phase")
    b.add_argument("--url", help="a running server sharing this database (default: start one)")
    b.add_argument("--interval", type=float, default=5.0, help="seconds between a customer's messages")
    b.add_argument("--agents", type=int, default=0, help="agents (default: one per 40 customers)")
    b.add_argument(
        "--servers", type=int, default=1, help="server processes to start (needs KEFU_REDIS_URL if > 1)"
    )
    b.set_defaults(func=cmd_bench_chat)

    p = sub.add_parser("chat", help="live chat maintenance")
    chat = p.add_subparsers(dest="chat_command", metavar="ACTION", required=True)
    s = chat.add_parser("sweep", help="one pass of idle reminders, abandoned queues and backlog dispatch")
    s.set_defaults(func=cmd_sweep)


def cmd_bench_chat(args: argparse.Namespace) -> int:
    from kefu.chat.bench import main

    return main(
        clients=args.clients,
        seconds=args.seconds,
        url=args.url,
        interval=args.interval,
        agents=args.agents,
        servers=args.servers,
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.chat.actions import do_sweep

    print(do_sweep())
    return 0
