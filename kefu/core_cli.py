"""Core subcommands: serve, worker, migrate, demo, token."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="migrate, load demo data if empty, serve HTTP and WebSocket")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--no-demo", action="store_true", help="do not load demo data into an empty database")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "worker",
        help="run background jobs (mail, chat sweep, reconcile); needed when KEFU_REDIS_URL is set",
    )
    p.add_argument(
        "--concurrency", type=int, default=None, help="job threads (default: KEFU_WORKER_CONCURRENCY, 2)"
    )
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("demo", help="load demo data (idempotent) and print demo logins")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("token", help="API tokens")
    token_sub = p.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    tp = token_sub.add_parser("create", help="create an API token for a user; prints it on the last line")
    tp.add_argument("email")
    tp.add_argument("--name", default="cli")
    tp.set_defaults(func=cmd_token_create)

    p = sub.add_parser("manage", help="run a Django management command", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)


def cmd_migrate(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from django.conf import settings

    from kefu.jobs.engine import consumes_in_serve, run_worker

    threads = args.concurrency or settings.KEFU_WORKER_CONCURRENCY
    where = "the SQLite queue in the data directory" if consumes_in_serve() else "Redis (KEFU_REDIS_URL)"
    print(f"Kefu worker: {threads} job threads, taking jobs from {where} (Ctrl+C to stop)", flush=True)
    _load_intent_model_in_background()
    run_worker(threads)
    return 0


def _load_intent_model_in_background() -> None:
    """Mail jobs route by the bot's intent model: load it (on a fresh machine, train it) at start,
    so the first mail does not wait for it. A thread: jobs run meanwhile; one that needs the
    model waits for this one load."""
    import threading

    def run() -> None:
        from django.db import connection

        from kefu.bot.engine import default_engine

        try:
            default_engine()
        finally:
            connection.close()

    threading.Thread(target=run, name="kefu-worker-warm-up", daemon=True).start()


def cmd_demo(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from kefu.demo import load_demo_data

    for line in load_demo_data():
        print(line)
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from kefu.accounts.actions import do_create_api_token
    from kefu.accounts.models import User

    user = User.objects.filter(email__iexact=args.email.strip()).first()
    if user is None:
        print(f"error: no user with email {args.email}")
        return 2
    print(do_create_api_token(user=user, name=args.name))
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    from kefu.cli import setup_django

    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kefu manage", *args.args])
    return 0


def local_base_url(host: str, port: int) -> str:
    """The address a person on this machine opens for ``kefu serve --host H --port P``."""
    if host in ("", "0.0.0.0", "::"):  # listening everywhere: this machine answers on loopback
        host = "127.0.0.1"
    elif ":" in host:  # an IPv6 literal needs brackets in a URL
        host = f"[{host}]"
    return f"http://{host}:{port}"


def cmd_serve(args: argparse.Namespace) -> int:
    from kefu import conf

    # Links in mail and the demo's sign-in hint must name the port this server really listens
    # on; an explicit KEFU_BASE_URL (the public address behind a proxy) still wins.
    conf.default_for_process("KEFU_BASE_URL", local_base_url(args.host, args.port))
    from kefu.cli import setup_django

    setup_django()
    from django.core.checks import run_checks
    from django.core.management import call_command

    # Unknown KEFU_* variables and unsafe combinations (kefu.checks): printed, never fatal.
    for issue in run_checks(tags=["kefu"]):
        print(f"warning: {issue.msg}", file=sys.stderr, flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    if not args.no_demo:
        from kefu.demo import database_is_empty, load_demo_data

        if database_is_empty():
            for line in load_demo_data():
                print(line)
    from kefu.serve import run_server

    run_server(host=args.host, port=args.port, workers=args.workers)
    return 0
