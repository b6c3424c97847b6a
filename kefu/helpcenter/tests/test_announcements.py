"""Announcements in force: the time window, open-ended ones, and coin/network filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kefu.helpcenter.selectors import active_announcements, recent_announcements, upcoming_announcements
from kefu.helpcenter.tests.conftest import make_announcement

pytestmark = pytest.mark.django_db


def titles(items) -> set[str]:
    return {a.title_en for a in items}


def test_only_announcements_inside_their_window_are_active():
    now = timezone.now()
    make_announcement(title="running", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    make_announcement(title="open-ended", starts_at=now - timedelta(days=3), ends_at=None)
    make_announcement(title="future", starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=3))
    make_announcement(title="over", starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))
    make_announcement(title="ends now", starts_at=now - timedelta(hours=3), ends_at=now)
    make_announcement(title="draft", starts_at=now - timedelta(hours=1), is_published=False)
    assert titles(active_announcements(now)) == {"running (English)", "open-ended (English)"}
    later = now + timedelta(hours=2, minutes=30)
    assert titles(active_announcements(later)) == {"future (English)", "open-ended (English)"}
    assert titles(upcoming_announcements(now)) == {"future (English)"}
    assert titles(recent_announcements(now)) == {"over (English)", "ends now (English)"}


def test_coin_filter_keeps_announcements_naming_the_coin_and_site_wide_ones():
    make_announcement(title="usdt", coins=["USDT"], networks=["TRC-20"])
    make_announcement(title="eth", coins=["ETH", "USDT"], networks=["ERC-20"])
    make_announcement(title="site-wide")
    assert titles(active_announcements(coin="eth")) == {"eth (English)", "site-wide (English)"}
    assert titles(active_announcements(coin="USDT")) == {
        "usdt (English)",
        "eth (English)",
        "site-wide (English)",
    }
    assert titles(active_announcements(coin="BTC")) == {"site-wide (English)"}


def test_network_filter_ignores_case_and_punctuation():
    make_announcement(title="tron", coins=["USDT"], networks=["TRC-20"])
    make_announcement(title="eth", coins=["USDT"], networks=["ERC-20"])
    assert titles(active_announcements(network="erc20")) == {"eth (English)"}
    assert titles(active_announcements(coin="usdt", network="TRC 20")) == {"tron (English)"}
