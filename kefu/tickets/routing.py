"""The one routing function: which category, team queue and priority a case gets, for every channel.

Before this module the portal (tickets/actions.py), mail (its own fallback category), the bot's
hand-off and live chat (``chat.selectors.route_for``) each decided the queue their own way, with
different fallback categories. Every channel now asks :func:`route`.

The ticket core imports no channel app, so the caller says what the channel knows: the category
(a form, an agent) or the bot intent, whether a secret was exposed (``security``), whether it is
certainly the customer's own key (``leaked_key``) and whether the topic is urgent (``urgent``:
the bot's URGENT_INTENTS, a stolen account or a scam, which the security team handles).
"""

from __future__ import annotations

from dataclasses import dataclass

from kefu.accounts.models import Team
from kefu.tickets.models import Category, Priority

SECURITY_TEAM_SLUG = "security"
# Where a case goes when nothing says what it is about: "contact and service hours", the
# category of the contact_human intent — a message nobody classified is a customer asking for
# a person. One fallback for every channel (mail used "policy-question" before).
FALLBACK_CATEGORY = "service-info"


@dataclass(frozen=True)
class Route:
    category: Category | None
    team: Team | None
    priority: int
    security: bool  # the case is flagged and belongs to the security team


def security_team() -> Team | None:
    return Team.objects.filter(slug=SECURITY_TEAM_SLUG).first()


def _tree() -> list[Category]:
    """The active categories with their routed teams loaded, kept per process
    (``selectors.CATEGORY_TREE``, forgotten when an admin edits one): routing a hand-off read
    the fallback category, the intent's category and its team's chain from the database, five
    queries per case. Read-only objects."""
    from kefu.tickets.selectors import active_categories

    return active_categories()


def _first(categories: list[Category]) -> Category | None:
    # The order of Category.Meta.ordering, whatever order the tree lists them in.
    return min(categories, key=lambda c: (c.position, c.pk), default=None)


def fallback_category() -> Category | None:
    """The fallback category; if an admin disabled it, the first active sub-category (None when
    every one is out of use: the case then has no category and no team queue)."""
    tree = _tree()
    category = next((c for c in tree if c.slug == FALLBACK_CATEGORY), None)
    return category or _first([c for c in tree if c.parent_id is not None])


def _category_for_intent(intent: str) -> Category | None:
    """The sub-category a bot intent is filed under, from the cached tree (a sub-category whose
    parent an admin disabled is out of use with it, as on the portal's form)."""
    return _first([c for c in _tree() if c.parent_id is not None and intent in (c.intents or [])])


def route(
    *,
    category: Category | None = None,
    intent: str | None = None,
    security: bool = False,
    leaked_key: bool = False,
    urgent: bool = False,
    priority: int | None = None,
) -> Route:
    """Where a case goes.

    Category: the one given, else the intent's, else the fallback. Team: the category's queue,
    or the security team (when one exists) for a secret, a leaked key or an urgent topic.
    Priority: never lowered below what was asked; at least high for a secret, urgent for a
    leaked key or an urgent topic.
    """
    if category is None and intent:
        category = _category_for_intent(intent)
    if category is None:
        category = fallback_category()
    team = category.routed_team() if category is not None else None
    flagged = security or leaked_key or urgent
    if flagged:
        team = security_team() or team
    wanted = priority or Priority.NORMAL  # a low priority asked for stays low unless flagged
    if flagged:
        wanted = max(wanted, Priority.URGENT if (leaked_key or urgent) else Priority.HIGH)
    return Route(category=category, team=team, priority=int(wanted), security=flagged)
