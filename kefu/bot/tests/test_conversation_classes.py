"""Classes of conversation behaviour behind the dialogue pass rate (issue 18, session 23, helper h4).

Each test states a behaviour in general terms, with messages written for the test (none is taken
from an evaluation file): follow-ups judged in context, deposit recovery handed to the team once
its details are in, times and hashes read the way customers write them, the direction of a
transfer, questions answered from the section that answers them.
"""

from __future__ import annotations

import re

import pytest

from kefu.bot import understand
from kefu.bot.dialogue_eval import create_context
from kefu.bot.tests.support import Chat

pytestmark = pytest.mark.django_db

CASE_NUMBER = re.compile(r"KF-[\d-]+")


@pytest.fixture(autouse=True)
def _articles(db):
    from kefu.helpcenter.actions import sync_articles_from_content

    sync_articles_from_content()


# --- follow-ups during an announced incident -------------------------------------------------


def test_follow_ups_during_a_maintenance_say_no_resend_then_the_end_time(alice):
    create_context(
        {
            "announcements": [
                {
                    "title": "TRC-20 充值维护",
                    "body": "TRC-20 节点维护中，充值延迟入账，预计 21:30 恢复。",
                    "coins": ["USDT"],
                    "networks": ["TRC20"],
                }
            ]
        },
        customer=alice,
    )
    chat = Chat(alice)
    first = chat.say("USDT 充值 TRC20 800U 半小时了还没到账")
    assert "维护" in first.text
    again = chat.say("那我需不需要重新转一次，要不要再充")
    assert again.handoff is None
    assert "无需重复" in again.text, again.text
    when = chat.say("行吧 那大概几点可以到")
    assert when.intent == "deposit_not_credited", when.intent  # not a goodbye
    assert "21:30" in when.text, when.text


def test_a_follow_up_on_an_announced_app_incident_repeats_its_workaround(alice):
    create_context(
        {"announcements": [{"title": "App 故障", "body": "部分用户 App 闪退，正在修复，请先使用网页版。"}]},
        customer=alice,
    )
    chat = Chat(alice)
    first = chat.say("app 打开就闪退 一直这样")
    assert "网页版" in first.text
    second = chat.say("那我现在要充值怎么办")
    assert "网页版" in second.text, second.text


# --- deposits recovered by hand ---------------------------------------------------------------


def test_a_deposit_without_its_memo_goes_to_the_team_once_the_hash_is_given():
    chat = Chat(None, "en")
    first = chat.say("I deposited 120 EOS yesterday evening but left the memo empty, can it be recovered?")
    assert first.handoff is None
    assert first.asking == "txid", (first.asking, first.text)
    second = chat.say("hash: 4be1c0ffee4be1c0ffee4be1c0ffee4be1c0ffee4be1c0ffee4be1c0ffee4be1")
    assert second.handoff is not None, second.text
    assert CASE_NUMBER.search(second.text), second.text


def test_a_hand_off_about_a_transfer_without_a_hash_asks_for_it():
    chat = Chat(None, "en")
    reply = chat.say("I sent 50 XRP without the tag!!! this is terrible, I need it back")
    assert reply.handoff is not None
    assert "transaction hash" in reply.text, reply.text


# --- details as customers write them ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "time"),
    [("sent 75 USDT around 3pm today", "3pm today"), ("today at 11am I deposited 40 SOL", "today at 11am")],
)
def test_a_clock_time_beside_a_day_is_one_time_and_never_an_amount(text, time):
    found = understand.extract(text)
    assert found["time"] == time
    assert found["amount"] in ("75", "40")


def test_a_hash_one_digit_off_is_kept_as_given_with_a_word_to_check_it():
    bad = "0x" + "ab12" * 16 + "c"  # 65 hex digits
    found = understand.extract(f"the hash is {bad}")
    assert found["tx_hash"] == bad
    chat = Chat(None, "en")
    chat.say("my ETH deposit of 0.2 ETH on ERC20 from 2 hours ago is not credited")
    reply = chat.say(f"txid {bad}")
    assert reply.asking != "txid"
    assert "65" in reply.text, reply.text


def test_stellar_is_a_memo_coin_the_bot_knows():
    found = understand.extract("withdrew 300 XLM")
    assert found["coin"] == "XLM" and found["network"] == "Stellar" and found["amount"] == "300"


# --- the direction of a transfer ---------------------------------------------------------------


def test_a_memo_forgotten_on_a_withdrawal_to_another_platform_is_a_withdrawal_that_cannot_be_reversed():
    chat = Chat(None, "en")
    first = chat.say(
        "I withdrew 500 XRP to my wallet on another exchange and forgot the tag, it shows completed here"
    )
    assert first.intent == "withdrawal_pending", first.intent
    assert "recipient" in first.text.lower() or "receiving" in first.text.lower(), first.text
    second = chat.say("can you reverse it please")
    assert second.handoff is None
    assert "can't be reversed" in second.text, second.text


def test_another_platform_asking_for_the_hash_is_not_a_scam():
    chat = Chat(None)
    chat.say("我从你们这提了 200 USDT 到别的交易所，显示已完成，对方说没收到")
    reply = chat.say("对方平台让我提供交易哈希，在哪里能找到")
    assert reply.intent != "scam_report", reply.text
    assert "记录" in reply.text, reply.text


def test_a_where_question_is_answered_by_the_section_that_says_where():
    from kefu.helpcenter.passages import best_passage

    passage = best_passage("我在哪里能看到交易哈希", language="zh-hans", intent="transaction_status")
    assert passage is not None and "哪" in passage.heading, passage
