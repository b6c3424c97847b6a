"""Texts are redacted whole and cut to fit afterwards: a cut first could leave fewer words of a
phrase than the guard needs to see it (12 without context), and they would be stored."""

from __future__ import annotations

import pytest
from mnemonic import Mnemonic

from kefu.csat import actions as csat_actions
from kefu.csat.models import CsatSurvey
from kefu.tickets.actions import check_add_message, check_create_ticket
from kefu.tickets.models import Category, Status

pytestmark = pytest.mark.django_db

PHRASE = Mnemonic("english").to_mnemonic(bytes(range(32)))  # 24 words


def test_a_rating_comment_cut_at_its_limit_keeps_no_phrase_words(alice, agent):
    ticket = check_create_ticket(
        customer=alice,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="登录不上",
        description="一直提示密码错误",
    ).ticket
    check_add_message(ticket=ticket, author=agent, body="已为您重置。", new_status=Status.RESOLVED)
    ticket.refresh_from_db()
    comment = "好" * 1940 + " " + PHRASE  # the 2,000-character cut falls inside the phrase
    csat_actions.check_rate_ticket(ticket=ticket, customer=alice, rating=4, comment=comment)
    stored = CsatSurvey.objects.get().comment
    assert len(stored) <= 2000
    assert not any(word in stored for word in PHRASE.split() if len(word) >= 4), stored[1900:]
