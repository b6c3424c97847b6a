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
    assert "protect a leaked seed" in second.text and "new wallet" in second.text
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


# --- written Cantonese, codes asked for, a seed typed into a site, "stop it", an agent's check ---


@pytest.mark.parametrize(
    "text",
    ["唔好再講官腔，我要搵負責人傾", "我要人工介入處理", "can I speak to a human please"],
)
def test_an_escalation_or_a_human_asked_for_in_cantonese_or_plainly_hands_off(alice, text):
    chat = Chat(alice, "zh-hant")
    chat.say("我的充值還沒到賬")
    reply = chat.say(text)
    assert reply.handoff is not None and CASE_NUMBER.search(reply.text), reply.text


def test_cantonese_is_understood_as_the_same_question():
    from kefu.bot.engine.normalize import normalize_text

    assert normalize_text("我啲USDT入咗幾個鐘都未到賬") == normalize_text("我的USDT入了幾個小時都未到賬")
    assert "系统" in normalize_text("系統維護")  # 係 is folded, 系 (system) is not touched


@pytest.mark.parametrize(
    ("language", "text", "words"),
    [
        ("en", "they're now asking me for the 6-digit code that was just texted to me. should I read it out?",
         ("Do not give that code", "Hang up")),
        ("zh-hans", "自称客服的人打电话来，让我提供手机收到的验证码，要给吗", ("不要", "挂断")),
    ],
)  # fmt: skip
def test_someone_asking_for_the_code_is_told_never_to_give_it(language, text, words):
    reply = Chat(None, language).say(text)
    for word in words:
        assert word in reply.text, reply.text
    assert reply.asking is None  # not "how do your codes arrive?"


def test_a_seed_phrase_typed_into_a_site_is_a_leaked_seed(alice):
    reply = Chat(alice).say("昨天有个自称客服的人让我把助记词填到一个网站上“验证钱包”，我填了…现在钱包里还有1.5个BTC 怎么办")
    assert "新钱包" in reply.text and reply.handoff is not None


def test_stop_a_withdrawal_to_a_wrong_address_hands_off_at_once(alice):
    chat = Chat(alice, "en")
    chat.say("my BTC withdrawal is still pending, I think I used the wrong address")
    reply = chat.say("yeah its wrong, it went to my old wallet I lost access to. pls stop it")
    assert reply.handoff is not None and CASE_NUMBER.search(reply.text), reply.text


def test_an_address_in_a_chinese_message_does_not_make_it_english():
    assert understand.detect_language(
        "能帮我追回吗 他给的地址是 TXa8Qm3kPz7VbN2wR5yLc9dF4gH6jK1sT8", fallback="zh-hans"
    ) == "zh-hans"


def test_a_transaction_only_an_agent_can_check_opens_the_case_instead_of_promising_it(alice):
    chat = Chat(alice)
    chat.say("我的USDT充值没到账")
    reply = chat.say(
        "BEP20 的，2000U，哈希 0x7d1e4b2a9c3f5e8d0b6a1c4f7e2d9b3a5c8e1f4d7a0b3c6e9f2d5a8b1c4e7f0a"
    )
    # "An agent will check it for you" is only said with the case open (no node for BSC here).
    assert reply.handoff is not None and CASE_NUMBER.search(reply.text), reply.text


def test_a_second_question_in_the_same_message_is_answered_too(alice):
    chat = Chat(alice, "en")
    chat.say("my BTC deposit hasn't arrived yet")
    reply = chat.say("ok so just wait then. also how do I turn on 2FA while im waiting")
    assert "About your other question" in reply.text and "authenticator" in reply.text.lower(), reply.text
    assert reply.handoff is None
