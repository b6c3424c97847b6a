"""``kefu check``: every active inbox's health — the adapter's own check (can the channel receive
and send now; Telegram's getWebhookInfo), the last update received, what waits and what failed."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="the channels' health: each inbox's provider check, last update, backlog, failures; exit 1 if any fails",
    )
    p.add_argument("--json", action="store_true", help="print JSON: {inboxes: [...]}")
    p.set_defaults(func=cmd_check)


def health_rows() -> list[dict[str, object]]:
    from kefu.inbox.adapters.base import adapter_for
    from kefu.inbox.models import Inbox
    from kefu.inbox.selectors import inbox_activity

    rows: list[dict[str, object]] = []
    for inbox in Inbox.objects.filter(is_active=True).order_by("kind", "id"):
        try:
            health = adapter_for(inbox.kind).health(inbox)
            ok, detail, pending = health.ok, health.detail, health.pending
        except LookupError:
            ok, detail, pending = False, "no adapter for this kind", None
        except Exception as exc:  # a check that crashes is a failing check, not a crash of all
            ok, detail, pending = False, f"health check failed: {type(exc).__name__}", None
        activity = inbox_activity(inbox)
        rows.append(
            {
                "inbox": inbox.name,
                "kind": inbox.kind,
                "ok": ok,
                "detail": detail,
                "provider_pending": pending,
                "last_received_at": activity.last_received_at.isoformat()
                if activity.last_received_at
                else None,
                "pending_events": activity.pending_events,
                "failed_events": activity.failed_events,
                "queued_deliveries": activity.queued_deliveries,
                "failed_deliveries": activity.failed_deliveries,
                "last_error": activity.last_error,
            }
        )
    return rows


def cmd_check(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    rows = health_rows()
    if args.json:
        print(json.dumps({"inboxes": rows}, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            state = "ok  " if row["ok"] else "FAIL"
            print(f"{state} {row['kind']:<9} {row['inbox']}: {row['detail']}".rstrip())
            print(
                f"     last update {row['last_received_at'] or '—'} · waiting {row['pending_events']} in, "
                f"{row['queued_deliveries']} out · failed {row['failed_events']} in, {row['failed_deliveries']} out"
                + (
                    f" · provider pending {row['provider_pending']}"
                    if row["provider_pending"] is not None
                    else ""
                )
            )
            if row["last_error"]:
                print(f"     last error: {str(row['last_error'])[:200]}")
    return 0 if all(row["ok"] for row in rows) else 1
