"""Demo inboxes: one per channel kind (``kefu demo`` via kefu.demo.APP_LOADERS)."""

from __future__ import annotations

DEMO_INBOXES = (
    # kind, name, team slug, bot answers first
    ("widget", "Website widget", "general", True),
    ("email", "support@kefu.example", "general", False),
    ("portal", "Customer portal", None, False),
    ("api", "REST API", None, False),
    ("voice", "客服热线 Hotline", "general", False),
    ("whatsapp", "WhatsApp", "general", True),
    ("telegram", "Telegram bot", "general", True),
)


def load() -> list[str]:
    from kefu.accounts.models import Team
    from kefu.calendars.models import DEFAULT_CALENDAR, BusinessCalendar
    from kefu.inbox.models import Inbox

    calendar = BusinessCalendar.objects.filter(name=DEFAULT_CALENDAR).first()
    created = 0
    for kind, name, team_slug, bot in DEMO_INBOXES:
        team = Team.objects.filter(slug=team_slug).first() if team_slug else None
        _inbox, made = Inbox.objects.get_or_create(
            kind=kind,
            name=name,
            # The hotline is open around the clock, as the seeds' 24/7 service is: no calendar.
            defaults={"team": team, "calendar": None if kind == "voice" else calendar, "bot_enabled": bot},
        )
        created += made
    return [f"Inboxes: {created} created."] if created else []
