"""``kefu 2fa reset EMAIL``: the break-glass for a staff member who lost their authenticator."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("2fa", help="staff two-factor authentication")
    twofa_sub = p.add_subparsers(dest="twofa_command", metavar="ACTION", required=True)
    reset = twofa_sub.add_parser(
        "reset",
        help="turn a staff member's 2FA off and end their sessions (they enrol again at sign-in)",
    )
    reset.add_argument("email")
    reset.add_argument("--reason", default="", help="kept in the audit log")
    reset.set_defaults(func=cmd_reset)


def cmd_reset(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.accounts.models import User
    from kefu.identity.twofactor import do_reset_totp, is_staff_user

    user = User.objects.filter(email__iexact=args.email.strip()).first()
    if user is None or not is_staff_user(user):
        print(f"error: no staff member with email {args.email}", file=sys.stderr)
        return 2
    do_reset_totp(user=user, reason=args.reason or "kefu 2fa reset")
    print(f"2FA reset for {user.email}; their sessions have ended.")
    return 0
