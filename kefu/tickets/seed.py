"""The default teams and category tree from ``data/categories.yaml``.

Applied after every ``migrate`` (like Django's own permissions): creates what is missing and
never overwrites what an admin has changed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kefu.accounts.models import Team

DATA_FILE = Path(__file__).parent / "data" / "categories.yaml"


@cache
def category_tree() -> dict[str, Any]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def ensure_default_categories() -> None:
    from kefu.tickets.models import Category

    data = category_tree()
    teams = {}
    for spec in data["teams"]:
        teams[spec["slug"]], _ = Team.objects.get_or_create(
            slug=spec["slug"], defaults={"name_zh": spec["name_zh"], "name_en": spec["name_en"]}
        )
    existing = set(Category.objects.values_list("slug", flat=True))
    for position, spec in enumerate(data["categories"]):
        parent = Category.objects.filter(slug=spec["slug"]).first()
        if parent is None:
            parent = Category.objects.create(
                slug=spec["slug"],
                name_zh=spec["name_zh"],
                name_en=spec["name_en"],
                team=teams.get(spec.get("team")),
                position=position * 100,
            )
        for child_position, child in enumerate(spec.get("children", [])):
            if child["slug"] in existing:
                continue
            Category.objects.create(
                slug=child["slug"],
                parent=parent,
                name_zh=child["name_zh"],
                name_en=child["name_en"],
                team=teams.get(child["team"]) if child.get("team") else None,
                intents=child.get("intents", []),
                position=position * 100 + child_position + 1,
            )
