"""Hand-off policy, script and safety steps over several turns (issue 18, helper h5)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from kefu.bot import understand
from kefu.bot.tests.support import Chat

pytestmark = pytest.mark.django_db

CASE_NUMBER = re.compile(r"KF-[\d-]+")


@pytest.fixture(autouse=True)
def _articles(db):
    """The help centre's bundled articles, which answers are drawn from."""
    from kefu.helpcenter.actions import sync_articles_from_content

    sync_articles_from_content()


def _simplified_only(text: str) -> set[str]:
    """Characters that have a traditional form (OpenCC s2t changes them)."""
    converted = understand._opencc("s2t").convert(text)
    return {a for a, b in zip(text, converted, strict=False) if a != b}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-Hant,zh;q=0.9", "zh-hant"),
        ("zh-TW", "zh-hant"),
        ("en-US,en;q=0.9,zh-HK;q=0.8", "zh-hans"),  # English first: the UI language decides
        ("zh-CN,zh-TW;q=0.5", "zh-hans"),
        ("zh-HK;q=0.9,en;q=0.5", "zh-hant"),
        ("", "zh-hans"),
    ],
)
def test_the_browsers_first_preference_says_whether_it_reads_traditional(header, expected):
    assert understand.browser_language(header, default="zh-hans") == expected


def test_a_traditional_browser_gets_traditional_replies_to_script_neutral_words_hand_off_included():
    """'我要找真人客服' has no traditional-only character: the browser decides the script, and
    the signed-out hand-off text (case number shown) is converted like every other reply."""
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-Hant,zh;q=0.9")
    body = client.post(
        "/api/v1/bot/messages", {"text": "我要找真人客服"}, content_type="application/json"
    ).json()
    assert body["handoff"] and body["handoff"]["case_number"].startswith("KF-")
    assert CASE_NUMBER.search(body["reply"])
    assert not _simplified_only(body["reply"]), body["reply"]


def test_a_fallback_reply_is_traditional_for_a_traditional_writer():
    chat = Chat(None)
    reply = chat.say("今天股票會漲嗎")
    assert reply.handoff is None
    assert not _simplified_only(reply.text), reply.text


@pytest.mark.parametrize(
    "text",
    [
        "My deposit has been missing for 3 days and nobody answers. This is a joke.",
        "充值三天了没人理，受够了",
    ],
)
def test_frustration_about_a_real_problem_hands_off_with_the_case_number(alice, text):
    chat = Chat(alice, "en")
    reply = chat.say(text)
    assert reply.handoff is not None
    assert CASE_NUMBER.search(reply.text), reply.text


@pytest.mark.parametrize("text", ["哈哈哈", "你叫什么名字", "lol ok thanks", "tell me a joke"])
def test_chit_chat_is_never_handed_off(text):
    chat = Chat(None)
    assert chat.say(text).handoff is None


def test_a_seed_given_away_gets_move_everything_now_and_freezing_is_said_not_to_help(alice):
    chat = Chat(alice, "en")
    first = chat.say("A guy on Telegram said he was from support and I gave him my 12 words. What do I do?")
    assert first.handoff is not None and CASE_NUMBER.search(first.text)
    assert "new wallet" in first.text and "move" in first.text.lower()
    second = chat.say("Can't you just freeze my account instead?")
    assert "does not protect a leaked seed" in second.text and "new wallet" in second.text
    assert "already with our support team" not in second.text  # keeps helping after the hand-off


def test_a_password_typed_into_a_phishing_page_gets_plain_urgent_steps(alice):
    chat = Chat(alice)
    reply = chat.say("我点了一个钓鱼链接还输入了密码")
    assert "修改密码" in reply.text and "2FA" in reply.text
    assert reply.handoff is None  # nothing was taken yet: steps first, a human on request


def test_a_seed_typed_into_a_phishing_page_is_a_leaked_seed(alice):
    reply = Chat(alice, "en").say("I typed my recovery phrase into a phishing site yesterday")
    assert "new wallet" in reply.text and reply.handoff is not None


def test_a_number_that_is_not_registered_is_said_to_be_not_official_and_a_scam():
    from kefu.trust.actions import do_add_official_channel

    do_add_official_channel(kind="phone", value="+1 800 555 0100", label="")
    reply = Chat(None, "en").say(
        "Someone called me from +44 20 7946 0958 saying he's your support, is that real?"
    )
    assert "not official" in reply.text and "scam" in reply.text


@pytest.mark.parametrize(
    ("text", "language", "words"),
    [
        ("怎么开启谷歌验证", "zh-hans", ("扫描", "二维码")),
        ("how do I turn on google authenticator", "en", ("Scan", "QR")),
    ],
)
def test_turning_on_the_authenticator_is_answered_from_the_set_up_section(text, language, words):
    reply = Chat(None, language).say(text)
    assert reply.intent == "two_factor"
    assert any(word in reply.text for word in words), reply.text


@pytest.mark.parametrize(
    "text", ["你是真人還是機器人", "are you a real person or a bot?", "can you speak chinese?"]
)
def test_asking_what_the_bot_is_or_speaks_is_answered_not_handed_off(text):
    reply = Chat(None, "en").say(text)
    assert reply.handoff is None and not reply.needs_sign_in
    assert "bot" in reply.text.lower() or "機器人" in reply.text or "Chinese" in reply.text


@pytest.mark.parametrize("text", ["你是机器人吗？我要真人", "Is this a bot? I need a human"])
def test_asking_what_the_bot_is_and_for_a_human_hands_off(text):
    reply = Chat(None).say(text)
    assert reply.handoff is not None or reply.needs_sign_in


def test_a_stolen_account_with_the_team_gets_what_to_do_while_waiting(alice):
    chat = Chat(alice, "en")
    assert chat.say("my account was hacked").handoff is not None
    reply = chat.say("what should I do right now while I wait?")
    assert "password" in reply.text and "Freeze" in reply.text
    assert "You don't need to open another one" not in reply.text


def test_a_lost_authenticator_is_answered_from_the_lost_phone_section():
    reply = Chat(None).say("谷歌验证器丢了怎么办")
    assert reply.intent == "two_factor"
    assert "备份密钥" in reply.text or "安全项不可用" in reply.text, reply.text


def test_the_bot_and_the_help_centre_share_one_set_of_opencc_converters():
    from kefu.bot.engine import normalize
    from kefu.helpcenter import analysis

    assert understand._opencc("t2s") is normalize._t2s() is analysis._t2s()
    assert normalize.to_simplified("帳號被鎖定") == analysis.to_simplified("帳號被鎖定") == "帐号被锁定"


def test_an_awful_week_long_wait_hands_off(alice):
    reply = Chat(alice, "en").say(
        "Your support is awful, I've been waiting a week for an answer on my ticket"
    )
    assert reply.handoff is not None and CASE_NUMBER.search(reply.text)


def test_a_fee_to_unfreeze_is_called_a_scam_without_asking_which_topic():
    reply = Chat(None).say("有人說可以幫我解凍帳戶，但要先付手續費，這是真的嗎")
    assert reply.intent in ("verify_official_channel", "scam_report")
    assert "詐騙" in reply.text or "騙子" in reply.text, reply.text
    assert "不要向對方付款或轉賬" in reply.text or "不要向對方付款或轉帳" in reply.text, reply.text
    assert not _simplified_only(reply.text)
