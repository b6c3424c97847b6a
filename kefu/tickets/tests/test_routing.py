"""The one routing function (kefu.tickets.routing) and the channels that use it."""

import pytest

from kefu.accounts.models import Team
from kefu.tickets import routing
from kefu.tickets.actions import check_create_ticket
from kefu.tickets.models import Category, Priority

pytestmark = pytest.mark.django_db


def test_a_category_goes_to_its_team_at_the_asked_priority():
    category = Category.objects.get(slug="deposit-not-credited")
    routed = routing.route(category=category, priority=Priority.LOW)
    assert routed.category == category
    assert routed.team == category.routed_team()
    assert routed.priority == Priority.LOW  # nothing flagged: a low priority stays low
    assert routed.security is False


def test_an_intent_picks_its_category_and_an_unknown_one_the_one_fallback():
    assert routing.route(intent="deposit_not_credited").category.slug == "deposit-not-credited"
    for intent in (None, "", "no_such_intent"):
        routed = routing.route(intent=intent)
        assert routed.category.slug == routing.FALLBACK_CATEGORY
        assert routed.priority == Priority.NORMAL


def test_a_disabled_fallback_falls_back_to_the_first_active_sub_category():
    Category.objects.filter(slug=routing.FALLBACK_CATEGORY).update(is_active=False)
    category = routing.route(intent=None).category
    assert category is not None and category.is_active and category.parent_id is not None


@pytest.mark.parametrize(
    "flags,priority",
    [
        ({"security": True}, Priority.HIGH),
        ({"leaked_key": True}, Priority.URGENT),
        ({"urgent": True}, Priority.URGENT),
    ],
)
def test_secrets_and_urgent_topics_go_to_the_security_team(flags, priority):
    security = Team.objects.get(slug=routing.SECURITY_TEAM_SLUG)
    routed = routing.route(category=Category.objects.get(slug="deposit-not-credited"), **flags)
    assert routed.team == security
    assert routed.security is True
    assert routed.priority == priority
    # An urgent priority asked for is never lowered by the floor.
    assert routing.route(security=True, priority=Priority.URGENT).priority == Priority.URGENT


def test_without_a_security_team_a_flagged_case_keeps_its_category_team():
    category = Category.objects.get(slug="deposit-not-credited")
    Team.objects.filter(slug=routing.SECURITY_TEAM_SLUG).update(slug="renamed")
    routed = routing.route(category=category, security=True)
    assert routed.team == category.routed_team() and routed.security


def test_portal_tickets_and_live_chat_hand_offs_route_alike(alice):
    """The portal's create and chat's route_for give the same answer for the same facts."""
    from kefu.chat.selectors import route_for

    category = Category.objects.get(slug="account-compromised")
    ticket = check_create_ticket(
        customer=alice, category=category, title="t", description="d", force_security=True
    ).ticket
    chat = route_for(intent="account_compromised")
    assert (ticket.team, ticket.priority, ticket.security_flag) == (
        chat.team,
        Priority.HIGH,
        True,
    )
    assert chat.priority == Priority.URGENT  # an urgent intent, as before
    assert route_for(intent=None).category.slug == routing.FALLBACK_CATEGORY


def test_routing_reads_the_cached_category_tree(django_assert_num_queries):
    """Every hand-off and bot conversation is routed: the fallback, the intent's category and
    its team's chain come from the process's category tree, not five queries a case."""
    routing.route(intent="contact_human")  # loads the tree once
    with django_assert_num_queries(0):
        by_intent = routing.route(intent="deposit_not_credited")
        unknown = routing.route(intent="no_such_intent")
    assert by_intent.category.slug == "deposit-not-credited" and by_intent.team is not None
    assert unknown.category.slug == routing.FALLBACK_CATEGORY and unknown.team is not None
    # An admin's change is seen at once (the tree is forgotten on save).
    Category.objects.filter(slug=routing.FALLBACK_CATEGORY).get().delete()
    assert routing.route(intent="no_such_intent").category.slug != routing.FALLBACK_CATEGORY
