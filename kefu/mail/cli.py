"""``kefu mail …``: run a worker with the SMTP receiver, take mail from a pipe, poll IMAP, process, send."""

from __future__ import annotations

import argparse
import sys

# sysexits.h: what an MTA's pipe transport understands (75: try again later; 65: bounce).
EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mail", help="email channel: receiver, IMAP poller, outbox")
    mail_sub = p.add_subparsers(dest="mail_command", metavar="ACTION", required=True)

    mp = mail_sub.add_parser(
        "worker", help="run background jobs like `kefu worker`, plus the SMTP receiver if KEFU_SMTP_LISTEN"
    )
    mp.add_argument(
        "--listen", default=None, help="host:port for the SMTP receiver (overrides KEFU_SMTP_LISTEN)"
    )
    mp.set_defaults(func=cmd_worker)

    mp = mail_sub.add_parser(
        "receive", help="store one mail read from standard input (for an MTA's pipe transport)"
    )
    mp.add_argument("--sender", default=None, help="envelope sender; empty string for a bounce")
    mp.add_argument("--recipient", action="append", default=[], help="envelope recipient (repeatable)")
    mp.set_defaults(func=cmd_receive)

    mp = mail_sub.add_parser("poll-imap", help="fetch unseen mail from KEFU_IMAP_URL once")
    mp.add_argument("--url", default=None, help="imaps://user:pass@host:993/INBOX (overrides KEFU_IMAP_URL)")
    mp.set_defaults(func=cmd_poll_imap)

    mp = mail_sub.add_parser("process", help="process pending inbound mail once")
    mp.set_defaults(func=cmd_process)

    mp = mail_sub.add_parser("send", help="send due outbound mail once")
    mp.set_defaults(func=cmd_send)


def cmd_worker(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.jobs.engine import run_worker
    from kefu.mail import conf
    from kefu.mail.smtp import start_smtp_receiver

    listen = conf.smtp_listen() if args.listen is None else args.listen
    receiver = start_smtp_receiver(listen) if listen else None
    if receiver is not None:
        print(f"SMTP receiver on {receiver.host}:{receiver.port}", flush=True)
    print("worker running (Ctrl+C to stop)", flush=True)
    try:
        run_worker()
    finally:
        if receiver is not None:
            receiver.stop()
    return 0


def cmd_receive(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.mail.actions import MailTooLarge, do_accept_inbound
    from kefu.mail.models import InboundSource
    from kefu.mail.redaction import UnsafeMail

    raw = sys.stdin.buffer.read()
    try:
        accepted = do_accept_inbound(
            raw, envelope_from=args.sender, envelope_to=args.recipient, source=InboundSource.CLI
        )
    except (UnsafeMail, MailTooLarge) as exc:
        print(f"refused: {type(exc).__name__}", file=sys.stderr)
        return EX_DATAERR
    except Exception as exc:
        print(f"temporary failure: {type(exc).__name__}", file=sys.stderr)
        return EX_TEMPFAIL
    print(accepted.inbound.pk)
    return EX_OK


def cmd_poll_imap(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.mail import conf
    from kefu.mail.imap import poll_imap_once

    url = args.url or conf.imap_url()
    if not url:
        print("error: set KEFU_IMAP_URL or pass --url", file=sys.stderr)
        return 2
    print(poll_imap_once(url))
    return 0


def cmd_process(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.mail.actions import process_pending_mail

    print(process_pending_mail())
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.mail.outbound import send_pending_mail

    print(send_pending_mail())
    return 0
