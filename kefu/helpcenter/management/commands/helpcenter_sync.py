"""``kefu manage helpcenter_sync``: load the bundled articles, keeping admins' edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kefu.helpcenter.actions import sync_articles_from_content


class Command(BaseCommand):
    help = "Create or update help-centre articles from the content files; admin edits are kept."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--content-dir", type=Path, default=None, help="folder of <slug>.<lang>.md files")

    def handle(self, *args: Any, **options: Any) -> None:
        report = sync_articles_from_content(directory=options["content_dir"])
        for line in report.lines():
            self.stdout.write(line)
