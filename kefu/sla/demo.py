"""Demo service levels: one policy per priority on the default calendar, so every new ticket
has due times at once. Idempotent (policies are looked up by name)."""

from __future__ import annotations

from kefu.tickets.models import Priority

# name, priority, first reply, next reply, periodic update, resolution (minutes, business time)
DEMO_POLICIES = (
    ("Urgent", Priority.URGENT, 30, 60, 240, 8 * 60),
    ("High", Priority.HIGH, 60, 120, None, 2 * 9 * 60),
    ("Normal", Priority.NORMAL, 4 * 60, 8 * 60, None, 5 * 9 * 60),
    ("Low", Priority.LOW, 9 * 60, 2 * 9 * 60, None, 10 * 9 * 60),
)


def load() -> list[str]:
    from kefu.calendars.models import DEFAULT_CALENDAR, BusinessCalendar
    from kefu.sla.models import SlaPolicy

    calendar = BusinessCalendar.objects.filter(name=DEFAULT_CALENDAR).first()
    created = 0
    for position, (name, priority, first, following, update, resolution) in enumerate(DEMO_POLICIES):
        _policy, made = SlaPolicy.objects.get_or_create(
            name=name,
            defaults={
                "position": position * 10,
                "priorities": [int(priority)],
                "calendar": calendar,
                "first_reply_minutes": first,
                "next_reply_minutes": following,
                "update_minutes": update,
                "resolution_minutes": resolution,
                "escalate_on_breach": priority >= Priority.HIGH,
            },
        )
        created += made
    return [f"SLA policies: {created} created."] if created else []
