"""``kefu manage reindex_tickets``: write the search terms of tickets that have none (or all)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kefu.tickets.search import reindex


class Command(BaseCommand):
    help = "Index tickets for search: those without terms yet (after an upgrade), or all with --all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="rewrite every ticket's terms")
        parser.add_argument("--batch", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int) -> None:
            if done % 10_000 < options["batch"]:
                self.stdout.write(f"{done} tickets indexed")

        total = reindex(only_missing=not options["all"], batch=options["batch"], progress=progress)
        self.stdout.write(self.style.SUCCESS(f"{total} tickets indexed"))
