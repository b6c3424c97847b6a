"""``kefu guard scan`` and ``kefu channels add|check|list``."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("guard", help="the secret guard (seed phrases, private keys)")
    guard_sub = p.add_subparsers(dest="guard_command", metavar="ACTION", required=True)
    gp = guard_sub.add_parser(
        "scan",
        help='read JSON lines {"text": ...} on stdin, print {"secret", "redacted", "findings"} per line',
    )
    gp.add_argument(
        "--language", default="zh-hans", help="language of the placeholders (zh-hans, zh-hant, en)"
    )
    gp.set_defaults(func=cmd_guard_scan)

    kinds = ["website", "email", "phone", "telegram", "x", "other"]
    p = sub.add_parser("channels", help="the official-channel registry")
    channel_sub = p.add_subparsers(dest="channels_command", metavar="ACTION", required=True)
    cp = channel_sub.add_parser("add", help="register an official channel (idempotent)")
    cp.add_argument("--kind", required=True, choices=kinds)
    cp.add_argument("--label", default="")
    cp.add_argument("value")
    cp.set_defaults(func=cmd_channels_add)

    cp = channel_sub.add_parser("check", help="is a channel official? prints JSON")
    cp.add_argument("--kind", required=True, choices=kinds)
    cp.add_argument("value")
    cp.set_defaults(func=cmd_channels_check)

    cp = channel_sub.add_parser("list", help="print the registry as JSON lines")
    cp.set_defaults(func=cmd_channels_list)


def cmd_guard_scan(args: argparse.Namespace) -> int:
    """One JSON line out per non-blank JSON line in; needs no database."""
    import json

    from kefu.trust.guard import scan

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item.get("text") if isinstance(item, dict) else None
            if not isinstance(text, str):
                raise ValueError('expected an object with a string "text"')
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            out: dict = {"error": str(exc)}
        else:
            result = scan(text, language=args.language)
            out = {
                "secret": result.secret,
                "redacted": result.redacted,
                "findings": [{"kind": f.kind, "start": f.start, "end": f.end} for f in result.findings],
            }
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


def _setup() -> None:
    from kefu.cli import setup_django

    setup_django()
    from django.db import connection

    from kefu.audit.models import AuditEvent
    from kefu.trust.models import OfficialChannel

    # The database is expected to be migrated; a fresh data directory is migrated here.
    needed = {OfficialChannel._meta.db_table, AuditEvent._meta.db_table}
    if not needed <= set(connection.introspection.table_names()):
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def cmd_channels_add(args: argparse.Namespace) -> int:
    import json

    _setup()
    from kefu.trust.actions import do_add_official_channel
    from kefu.trust.verifier import InvalidChannelValue

    try:
        channel = do_add_official_channel(kind=args.kind, value=args.value, label=args.label)
    except InvalidChannelValue as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {"kind": channel.kind, "normalized": channel.normalized, "label": channel.label},
            ensure_ascii=False,
        )
    )
    return 0


def cmd_channels_check(args: argparse.Namespace) -> int:
    import json

    _setup()
    from kefu.trust.api import check_payload
    from kefu.trust.verifier import InvalidChannelValue

    try:
        payload = check_payload(kind=args.kind, value=args.value)
    except InvalidChannelValue as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(payload, ensure_ascii=False))
    return 0


def cmd_channels_list(args: argparse.Namespace) -> int:
    import json

    _setup()
    from kefu.trust.selectors import official_channels

    for channel in official_channels():
        print(
            json.dumps(
                {
                    "kind": channel.kind,
                    "normalized": channel.normalized,
                    "value": channel.value,
                    "label": channel.label,
                },
                ensure_ascii=False,
            )
        )
    return 0
