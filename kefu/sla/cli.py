"""``kefu sla …``: calendar arithmetic from the console, the sweep and recalculation by hand."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sla", help="service levels: due times, the sweep")
    sla_sub = p.add_subparsers(dest="sla_command", metavar="ACTION", required=True)

    mp = sla_sub.add_parser("due", help="print when N business minutes from START end under a calendar")
    mp.add_argument("--start", required=True, help="ISO 8601 instant; without an offset: the calendar's zone")
    mp.add_argument("--minutes", required=True, type=float, help="business minutes to add")
    mp.add_argument("--calendar", default=None, help="calendar name (default: the default calendar)")
    mp.set_defaults(func=cmd_due)

    mp = sla_sub.add_parser("sweep", help="record due warnings and breaches once")
    mp.set_defaults(func=cmd_sweep)

    mp = sla_sub.add_parser("recalculate", help="re-plan every open timer under the current policies")
    mp.set_defaults(func=cmd_recalculate)


def cmd_due(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.calendars.arithmetic import NoWorkingTime, add_business_minutes
    from kefu.calendars.selectors import UnknownCalendar, builtin_default, load_calendar

    try:
        start = datetime.fromisoformat(args.start.replace("Z", "+00:00"))
    except ValueError:
        print(f"--start: not an ISO 8601 instant: {args.start}", file=sys.stderr)
        return 2
    if args.minutes < 0:
        print("--minutes: must not be negative", file=sys.stderr)
        return 2
    try:
        calendar = load_calendar(args.calendar)
    except UnknownCalendar:
        if args.calendar:
            print(f"no calendar named {args.calendar!r}", file=sys.stderr)
            return 2
        calendar = builtin_default()
    if start.tzinfo is None:
        start = start.replace(tzinfo=calendar.zone)
    try:
        due = add_business_minutes(calendar, start, args.minutes)
    except NoWorkingTime:
        print(f"calendar {calendar.name!r} has no working time ahead", file=sys.stderr)
        return 1
    print(due.astimezone(calendar.zone).isoformat())
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.sla.actions import sweep_due_timers

    result = sweep_due_timers()
    print(f"warned {result.warned}, breached {result.breached}")
    return 0


def cmd_recalculate(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.sla.actions import recalculate_open_timers

    print(f"{recalculate_open_timers()} timers changed")
    return 0
