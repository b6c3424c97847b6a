"""``kefu telegram poll|webhook``: the Telegram bot without a public URL, or its webhook set up."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("telegram", help="the Telegram bot")
    tg = p.add_subparsers(dest="telegram_command", metavar="ACTION", required=True)
    poll = tg.add_parser(
        "poll",
        help="receive updates by long polling (getUpdates), for installs without a public URL",
        description="Deletes the webhook, then polls getUpdates; every update goes through the inbox "
        "pipeline (stored, then processed by the job worker that `kefu serve` runs).",
    )
    poll.set_defaults(func=cmd_poll)
    hook = tg.add_parser("webhook", help="register {KEFU_PUBLIC_URL}/channels/telegram/webhook with Telegram")
    hook.add_argument("--url", default="", help="the public base URL (default: KEFU_PUBLIC_URL)")
    hook.set_defaults(func=cmd_webhook)


def cmd_poll(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.telegram.client import config
    from kefu.telegram.polling import run

    if not config().enabled:
        print("KEFU_TELEGRAM_BOT_TOKEN is not set.", file=sys.stderr)
        return 2
    try:
        run()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_webhook(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from django.conf import settings

    from kefu.telegram.client import TelegramError, config
    from kefu.telegram.setup import set_webhook

    base = (args.url or str(settings.KEFU_PUBLIC_URL or settings.KEFU_BASE_URL or "")).rstrip("/")
    if not config().enabled or not config().webhook_secret or not base:
        print("Set KEFU_TELEGRAM_BOT_TOKEN, KEFU_TELEGRAM_WEBHOOK_SECRET and a public URL.", file=sys.stderr)
        return 2
    try:
        set_webhook(f"{base}/channels/telegram/webhook")
    except TelegramError as exc:
        print(f"setWebhook failed: {exc}", file=sys.stderr)
        return 1
    print(f"webhook set: {base}/channels/telegram/webhook")
    return 0
