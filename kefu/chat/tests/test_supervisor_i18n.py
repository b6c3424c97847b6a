"""The supervisor's view speaks the supervisor's language: team names, statuses, durations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import timezone, translation

from kefu.accounts.models import Team
from kefu.chat.models import AgentPresence, ChatConversation
from kefu.chat.tests.conftest import of_type, queued_chat, receive_until, run_async, ws_client
from kefu.conftest import login, make_user
from kefu.durations import format_duration

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [
        (None, "—", "—"),
        (0, "0 秒", "0 s"),
        (45, "45 秒", "45 s"),
        (200, "3 分 20 秒", "3 min 20 s"),
        (180, "3 分", "3 min"),
        (3900, "1 小时 5 分", "1 h 5 min"),
        (7200, "2 小时", "2 h"),
    ],
)
def test_durations_read_as_minutes_and_seconds(seconds, zh, en):
    with translation.override("zh-hans"):
        assert format_duration(seconds) == zh
    with translation.override("en"):
        assert format_duration(seconds) == en


def _scene(alice):
    """A Chinese customer's chat waiting for 200 s; one agent offline, one online."""
    away = make_user("offline-agent@example.com", "agent", ("assets",))
    AgentPresence.objects.create(user=away, status="offline")
    chat = queued_chat(alice, language="zh-hans")
    ChatConversation.objects.filter(pk=chat.pk).update(queued_at=timezone.now() - timedelta(seconds=200))
    return chat


def test_the_supervisor_page_in_english_shows_english_names_statuses_and_durations(alice, supervisor):
    _scene(alice)
    team = Team.objects.get(slug="assets")
    english = login(supervisor).get(reverse("chat:supervisor"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chats = english.split('id="sv-chats"', 1)[1].split("</table>", 1)[0]
    assert f"<td>{team.name_en}</td>" in chats and team.name_zh not in chats
    teams = english.split('id="sv-teams"', 1)[1].split("</table>", 1)[0]
    assert team.name_zh not in teams
    agents = english.split('id="sv-agents"', 1)[1].split("</table>", 1)[0]
    assert ">Offline</span>" in agents and ">offline<" not in agents
    assert re.search(r'<td class="num">3 min 2\d s</td>', chats), chats
    assert "Times in seconds" not in english
    assert not re.search(r'<td class="num">\d{3,}</td>', english)  # no raw second counts

    chinese = (
        login(supervisor).get(reverse("chat:supervisor"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    )
    assert ">离线</span>" in chinese and re.search(r'<td class="num">3 分 2\d 秒</td>', chinese)
    assert f"<td>{team.name_zh}</td>" in chinese


def test_the_live_dashboard_comes_in_the_pages_language(alice, supervisor):
    _scene(alice)
    run_async(_live_dashboard, supervisor)


async def _live_dashboard(supervisor):
    team = await database_sync_to_async(Team.objects.get)(slug="assets")
    async with ws_client("/ws/chat/agent/", supervisor) as boss:
        await boss.send_json_to({"type": "hello"})
        await receive_until(boss, of_type("welcome"))
        await boss.send_json_to({"type": "dashboard", "language": "en"})
        frame = await receive_until(boss, of_type("dashboard"))
    assert {t["name"] for t in frame["teams"]} >= {team.name_en}
    chat = frame["chats"][0]
    assert chat["team"] == team.name_en and chat["status_label"] == "Waiting"
    assert chat["elapsed"].startswith("3 min")
    labels = {a["name"]: a["status_label"] for a in frame["agents"]}
    assert "Offline" in labels.values() and "offline" not in labels.values()
    assert all(not t["longest_wait"].isdigit() for t in frame["teams"])


def test_the_agent_console_names_teams_in_the_agents_language(alice):
    """A Chinese customer's chat in an English agent's queue and chat list: the English team name."""
    run_async(_agent_console_team_names, alice)


async def _agent_console_team_names(alice):
    agent = await database_sync_to_async(make_user)("en-agent@example.com", "agent", ("assets",))
    agent.language = "en"
    await database_sync_to_async(agent.save)(update_fields=["language"])
    chat = await database_sync_to_async(queued_chat)(alice, language="zh-hans")
    team = await database_sync_to_async(Team.objects.get)(slug="assets")
    async with ws_client("/ws/chat/agent/", agent) as console:
        await console.send_json_to({"type": "hello"})
        welcome = await receive_until(console, of_type("welcome"))
        [item] = [i for i in welcome["queue"]["items"] if i["id"] == chat.public_id.hex]
        assert item["team"] == team.name_en
        # Topic and waiting time in English too (the waiting time from the one duration helper).
        assert item["intent"] and not re.search(r"[\u4e00-\u9fff]", item["intent"])
        assert re.fullmatch(r"\d+ s|\d+ min( \d+ s)?", item["waited_text"]), item["waited_text"]
        await console.send_json_to({"type": "open", "conversation_id": chat.public_id.hex})
        opened = await receive_until(console, of_type("chat"))
    assert opened["chat"]["team"] == team.name_en
