"""The ``kefu`` console command.

Each domain app contributes its own subcommands through a ``cli.py`` module exposing
``register(subparsers)``; this module only wires them up and boots Django lazily, so that
``kefu --help`` stays instant and commands such as ``kefu bot predict`` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# Apps whose ``cli.py`` adds subcommands. Order is the order shown in ``kefu --help``.
COMMAND_MODULES = (
    "kefu.core_cli",
    "kefu.config_cli",
    "kefu.identity.cli",
    "kefu.bot.cli",
    "kefu.trust.cli",
    "kefu.wallet.cli",
    "kefu.mail.cli",
    "kefu.chat.cli",
    "kefu.sla.cli",
    "kefu.reports.cli",
    "kefu.phone.cli",
    "kefu.telegram.cli",
    "kefu.inbox.cli",
)


def setup_django() -> None:
    """Configure Django once; subcommands call this before touching models."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    import django

    django.setup()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kefu", description="Kefu (客服): customer support for crypto wallets and exchanges."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that domain has no commands (yet)
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from django.core.exceptions import ImproperlyConfigured

    try:
        result = func(args)
    except ImproperlyConfigured as exc:
        # A malformed KEFU_* value (kefu.conf): one line naming it, not a traceback.
        print(exc, file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())


def entry_point() -> None:
    sys.exit(main())
