"""Canned replies are titled in the agent's language; bilingual "中文 / English" titles are split."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from kefu.conftest import login
from kefu.tickets import demo
from kefu.tickets.actions import check_create_ticket
from kefu.tickets.models import CannedReply, Category

pytestmark = pytest.mark.django_db

split = importlib.import_module("kefu.tickets.migrations.0004_split_bilingual_canned_titles")


def test_the_migration_splits_bilingual_titles_only():
    both = CannedReply.objects.create(title="问候 / Greeting", body_zh="您好", body_en="Hello")
    slash = CannedReply.objects.create(title="TRC-20 / ERC-20 fees", body_zh="费", body_en="Fees")
    split.split_titles(apps, None)
    both.refresh_from_db()
    slash.refresh_from_db()
    assert (both.title, both.title_en) == ("问候", "Greeting")
    assert (slash.title, slash.title_en) == ("TRC-20 / ERC-20 fees", "")
    split.join_titles(apps, None)
    both.refresh_from_db()
    assert (both.title, both.title_en) == ("问候 / Greeting", "")


def test_the_ticket_view_titles_canned_replies_in_the_agents_language(alice, bob, agent):
    demo.load()
    ticket = check_create_ticket(
        customer=alice, category=Category.objects.get(slug="otp"), title="收不到验证码", description="短信"
    ).ticket
    url = reverse("tickets:workspace_ticket", args=[ticket.case_number])
    english = login(agent).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    options = english.split('id="canned"', 1)[1].split("</select>", 1)[0]
    assert ">Greeting</option>" in options and "问候" not in options and " / " not in options
    chinese = login(agent).get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    options = chinese.split('id="canned"', 1)[1].split("</select>", 1)[0]
    assert ">问候</option>" in options and "Greeting" not in options
    # The body stays in the customer's language whatever the agent reads.
    assert "感谢您联系客服" in english
