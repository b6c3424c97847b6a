"""Demo data for a first look: the fictional "Lumen Wallet" support centre.

Idempotent: running it twice changes nothing. Each app contributes its own part.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

DEMO_PASSWORD = "kefu-demo-2026"

DEMO_USERS = [
    # email, role, display name, teams
    ("alice@example.com", "customer", "Alice", []),
    ("bob@example.com", "customer", "Bob", []),
    ("agent@example.com", "agent", "客服小林 Lin", ["accounts", "assets", "general"]),
    ("specialist@example.com", "specialist", "专家 Zhou", ["assets", "tech", "security"]),
    (
        "supervisor@example.com",
        "supervisor",
        "主管 Chen",
        ["accounts", "assets", "tech", "security", "general"],
    ),
    ("admin@example.com", "admin", "Admin", []),
]

# Other apps' demo loaders, called in order when present: each returns lines to print.
APP_LOADERS = (
    # Before the demo tickets, so that they start with due times.
    "kefu.sla.demo:load",
    "kefu.inbox.demo:load",
    "kefu.tickets.demo:load",
    "kefu.helpcenter.demo:load",
    "kefu.trust.demo:load_demo_channels",
    "kefu.wallet.demo_records:load",
)


def database_is_empty() -> bool:
    from kefu.accounts.models import User

    return not User.objects.exists()


def load_demo_data() -> Iterator[str]:
    from kefu.accounts.actions import do_add_team_member, do_ensure_user
    from kefu.accounts.models import Team
    from kefu.tickets.seed import ensure_default_categories

    ensure_default_categories()
    teams = {t.slug: t for t in Team.objects.all()}
    for email, role, name, team_slugs in DEMO_USERS:
        user = do_ensure_user(email=email, role=role, password=DEMO_PASSWORD, display_name=name)
        for slug in team_slugs:
            do_add_team_member(team=teams[slug], user=user)
    for spec in APP_LOADERS:
        module_name, func_name = spec.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        result = getattr(module, func_name)()
        if isinstance(result, list | tuple):
            yield from (str(line) for line in result)
    from django.conf import settings
    from django.urls import reverse

    login_url = settings.KEFU_BASE_URL.rstrip("/") + reverse("accounts:login")
    yield f"Demo data loaded. Sign in at {login_url} with:"
    for email, role, _name, _teams in DEMO_USERS:
        yield f"  {role:<11} {email:<26} password: {DEMO_PASSWORD}"
