"""``kefu phone call``: try the hotline from a terminal, with no provider account."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("phone", help="the phone hotline")
    phone = p.add_subparsers(dest="phone_command", metavar="ACTION", required=True)
    c = phone.add_parser(
        "call",
        help="play a call against Kefu's own webhooks (signed), reading key presses from stdin",
        description="Calls POST {KEFU_PUBLIC_URL}/phone/twilio/voice as the provider would, signs every "
        "request with KEFU_TWILIO_AUTH_TOKEN, prints what <Say> says and reads keys for <Gather> "
        "(an empty line: no key; end of input: hang up). Needs a running server (kefu serve).",
    )
    c.add_argument("--from", dest="caller", default="+15555550123", help="the caller's number (E.164)")
    c.add_argument("--to", dest="called", default="", help="the number called (default: KEFU_PHONE_NUMBER)")
    c.add_argument("--url", default="", help="Kefu's base URL (default: KEFU_PUBLIC_URL or KEFU_BASE_URL)")
    c.add_argument("--wait-rounds", type=int, default=3, help="times the queue's wait URL is played")
    c.set_defaults(func=cmd_call)


def _keypad(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


def cmd_call(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from django.conf import settings

    from kefu.phone.selectors import public_url
    from kefu.phone.simulator import CallFailed, HttpTransport, Simulator

    if settings.KEFU_PHONE_PROVIDER != "twilio":
        # Telnyx signs with its private key, which only Telnyx holds: a simulated call would
        # only ever get 403s. The flow is the same; try it with the default provider.
        print(
            "The simulator signs as Twilio does; with KEFU_PHONE_PROVIDER=telnyx the server refuses "
            "its calls. Try the flow with KEFU_PHONE_PROVIDER=twilio.",
            file=sys.stderr,
        )
        return 2
    token = str(settings.KEFU_TWILIO_AUTH_TOKEN or "")
    if not token:
        print("KEFU_TWILIO_AUTH_TOKEN is not set: the hotline refuses unsigned calls.", file=sys.stderr)
        return 2
    simulator = Simulator(
        base_url=args.url or public_url(),
        auth_token=token,
        account_sid=str(settings.KEFU_TWILIO_ACCOUNT_SID or "AC" + "0" * 32),
        caller=args.caller,
        called=args.called or str(settings.KEFU_PHONE_NUMBER or ""),
        transport=HttpTransport(),
        keypad=_keypad,
        wait_rounds=args.wait_rounds,
    )
    try:
        played = simulator.run()
    except CallFailed as exc:
        print(f"call failed: {exc}", file=sys.stderr)
        return 1
    print(f"(call {played.call_sid} ended: {played.hung_up_by or 'hung up'})")
    return 0
