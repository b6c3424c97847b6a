"""``kefu reports …``: build the report rollups by hand (backfill, repair)."""

from __future__ import annotations

import argparse
import sys
from datetime import date


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("reports", help="reports: rebuild the daily rollups")
    reports_sub = p.add_subparsers(dest="reports_command", metavar="ACTION", required=True)
    mp = reports_sub.add_parser(
        "rebuild", help="rebuild the rollups of every day from --since (default: the first ticket's) to yesterday"
    )
    mp.add_argument("--since", default=None, help="first day, YYYY-MM-DD (site time zone)")
    mp.add_argument("--until", default=None, help="last day, YYYY-MM-DD (default: yesterday)")
    mp.set_defaults(func=cmd_rebuild)


def cmd_rebuild(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    try:
        since = date.fromisoformat(args.since) if args.since else None
        until = date.fromisoformat(args.until) if args.until else None
    except ValueError:
        print("--since/--until: dates as YYYY-MM-DD", file=sys.stderr)
        return 2
    setup_django()
    from kefu.reports.rollups import derive_old_chats, rebuild

    # Chats from before the live-chat figures' fields: what the audit log can tell (docs/reports.md).
    derived = derive_old_chats()
    if derived:
        print(f"filled the queue fields of {derived} older chat(s) from the audit log")
    built = rebuild(since, until)
    print(f"rebuilt {built} day(s)")
    return 0
