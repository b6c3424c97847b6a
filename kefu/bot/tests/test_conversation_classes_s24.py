"""Classes of conversation behaviour behind the dialogue pass rate (issue 18, session 24, helper h4).

Each test states a behaviour in general terms, with messages written for the test (none is taken
from an evaluation file): a problem told without a question gets the article's overview and the
matching step; "how long?" is answered by the section that states a duration; a vague message
continues the topic; a one-letter unit needs to be a unit; a free-text time must speak of a time;
"find me a person" is a request for one; traditional replies keep the domain's words; follow-ups
during an incident or about the customer's own records are answered from what Kefu knows; "can I
cancel it?" is a question, not an emergency.
"""

from __future__ import annotations

import pytest

from kefu.bot import understand
from kefu.bot.dialogue_eval import create_context
from kefu.bot.tests.support import Chat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _articles(db):
    from kefu.helpcenter.actions import sync_articles_from_content

    sync_articles_from_content()


# --- answers: overview for a problem told, durations for "how long" ---------------------------


@pytest.mark.parametrize(
    "problem,language,words",
    [
        # One matching step ("apps can crash when storage runs out") is no answer alone.
        (
            "since last night's upgrade my wallet app just crashes when I launch it",
            "en",
            ["update", "reinstall"],
        ),
        ("更新之后 App 一打开就闪退", "zh-hans", ["更新", "重装"]),
    ],
)
def test_a_problem_told_without_a_question_gets_the_overview_then_the_step(problem, language, words):
    from kefu.helpcenter.passages import best_passage

    passage = best_passage(problem, language=language, intent="app_not_opening")
    assert passage is not None
    for word in words:
        assert word in passage.text, passage.text


def test_the_step_with_a_detail_the_overview_lacks_is_kept_after_it():
    from kefu.helpcenter.passages import best_passage

    passage = best_passage(
        "刷脸那一步总是过不去，提示我正对镜头", language="zh-hans", intent="kyc_verification"
    )
    assert passage is not None
    assert "镜头" in passage.text and "光线" in passage.text, passage.text


def test_a_question_is_never_answered_by_the_overview():
    from kefu.helpcenter.passages import best_passage

    passage = best_passage("走 TRC20 是不是会便宜一点呢", language="zh-hans", intent="fees")
    assert passage is not None and passage.heading, passage  # a section, not the summary


@pytest.mark.parametrize(
    "question,language,words",
    [
        ("after I file a complaint, how many days until someone gets back to me", "en", ["3 business days"]),
        ("投诉交上去以后要等多长时间才有答复", "zh-hans", ["3 个工作日"]),
    ],
)
def test_how_long_is_answered_by_the_section_that_states_a_duration(question, language, words):
    from kefu.helpcenter.passages import best_passage

    passage = best_passage(question, language=language, intent="complaint")
    assert passage is not None
    for word in words:
        assert word in passage.text, passage.text


def test_moving_the_authenticator_to_a_new_iphone_is_not_answered_with_the_set_up_steps():
    from kefu.helpcenter.passages import best_passage

    passage = best_passage(
        "I'm switching to a new iphone next week, how do I bring my authenticator codes along",
        language="en",
        intent="two_factor",
    )
    assert passage is not None and passage.heading != "How to set it up", passage
    assert "backup key" in passage.text, passage.text


# --- context -------------------------------------------------------------------------------------


def test_a_vague_message_continues_the_topic_instead_of_asking_which_one():
    chat = Chat(language="en")
    chat.say("how do I set up google authenticator for my account")
    reply = chat.say("no backup of that key, so what if I drop my phone")
    assert reply.intent == "two_factor", (reply.intent, reply.text)
    assert "which of these" not in reply.text


def test_a_clear_new_question_is_not_held_to_the_topic():
    chat = Chat(language="en")
    chat.say("how long does identity verification take")
    reply = chat.say("ok and what's the withdrawal limit before it's done")
    assert reply.intent == "withdrawal_limit", (reply.intent, reply.text)


# --- details ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,amount",
    [
        ("been waiting since 9 u know, nothing yet", None),  # "u" is "you"
        ("it's 3 u see, not 4", None),
        ("deposited 300 u", "300"),
        ("转了800u", "800"),
        ("sent 50 U an hour ago", "50"),
    ],
)
def test_a_one_letter_unit_is_a_unit_only_where_it_stands_as_one(text, amount):
    found = understand.extract(text, known={})
    assert found.get("amount") == amount, found
    assert (found.get("coin") == "USDT") == (amount is not None), found


@pytest.mark.parametrize(
    "text,kept",
    [
        ("另外想问一下 没做认证可以提币吗", False),
        ("what about staking, can I do that here?", False),
        ("上周末吧", True),
        ("right after lunch", True),
    ],
)
def test_a_free_text_time_must_speak_of_a_time(text, kept):
    found = understand.extract(text, known={}, asking="time")
    assert ("time" in found) is kept, found


def test_a_side_question_while_the_time_is_asked_is_answered_not_filed_as_the_time():
    chat = Chat()
    chat.say("我充了300u到现在都没到")
    chat.say("TRC20")
    reply = chat.say("另外想问一下 没做认证可以提币吗")
    assert "认证" in reply.text, reply.text
    assert "已记录" not in reply.text, reply.text


# --- hand-off and language -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["等了半天了 能不能换个人来处理", "你们这样不行 给我找个人"])
def test_asking_for_a_person_in_other_words_hands_off(text):
    chat = Chat()
    chat.say("我的提现一直在处理中")
    reply = chat.say(text)
    assert reply.handoff is not None, reply.text


def test_a_person_noun_is_no_request_for_a_human():
    chat = Chat()
    reply = chat.say("个人账户的提现限额是多少")
    assert reply.handoff is None, reply.text


def test_traditional_replies_keep_the_domains_words():
    converted = understand.to_traditional("提现审核中，审核通过后上链。")
    assert "審核" in converted and "稽核" not in converted, converted
    assert "通過" in converted and "上鏈" in converted, converted


# --- follow-ups answered from what Kefu knows ------------------------------------------------


def _maintenance(customer) -> None:
    create_context(
        {
            "announcements": [
                {
                    "title": "Solana deposits delayed",
                    "body": "Solana deposits are delayed by node maintenance and will be credited automatically afterwards.",
                    "coins": ["SOL"],
                    "networks": ["SOL"],
                }
            ]
        },
        customer=customer,
    )


def test_during_a_maintenance_is_it_safe_and_anything_to_do_are_answered(alice):
    _maintenance(alice)
    chat = Chat(alice, "en")
    chat.say("deposited 12 SOL around 40 minutes ago and it's not in my balance")
    safe = chat.say("wait is my money lost??")
    assert "safe" in safe.text and "no need to send it again" in safe.text, safe.text
    todo = chat.say("do I need to do anything once the maintenance is over")
    assert "automatically" in todo.text and todo.text != safe.text, todo.text
    assert todo.handoff is None


def test_anything_to_do_after_the_customers_own_records_repeats_what_they_say(alice):
    create_context(
        {
            "deposits": [
                {
                    "coin": "USDT",
                    "network": "TRC20",
                    "amount": "75",
                    "status": "pending",
                    "confirmations": 3,
                    "minutes_ago": 5,
                }
            ]
        },
        customer=alice,
    )
    chat = Chat(alice, "en")
    first = chat.say("my 75 usdt deposit isn't in my balance yet")
    assert "75 USDT" in first.text, first.text
    reply = chat.say("so do I need to do anything?")
    assert reply.text.startswith("As I said:") and "automatically" in reply.text, reply.text


@pytest.mark.parametrize(
    "language,first,ask,word",
    [
        ("zh-hans", "提现到新地址 一直显示审核中", "能不能先撤销", "撤销"),
        ("en", "my withdrawal has been under review for an hour", "can I cancel it for now?", "cancel"),
    ],
)
def test_can_i_cancel_it_under_review_is_answered_not_an_emergency(language, first, ask, word):
    chat = Chat(language=language)
    chat.say(first)
    reply = chat.say(ask)
    assert reply.handoff is None, reply.text
    assert word in reply.text, reply.text


def test_a_wordy_how_long_question_is_answered_by_the_how_long_section_of_its_topic():
    # Many words the article lacks (low coverage), but the section "How long does it take?" of
    # the intent's article answers exactly the kind of question asked.
    chat = Chat(language="en")
    reply = chat.say("did the identity verification with my passport at lunch, how long till they approve it")
    assert "business days" in reply.text, reply.text


# --- a seed phrase kept online ----------------------------------------------------------------


@pytest.mark.parametrize(
    "language,first,then,words",
    [
        ("zh-hans", "助记词我之前拍照存在手机相册了", "相册好像还开了自动备份到云端", ["新钱包", "删除"]),
        (
            "en",
            "I saved a screenshot of my seed phrase in my gallery",
            "and the gallery syncs to the cloud",
            ["new wallet", "delete"],
        ),
    ],
)
def test_a_seed_phrase_kept_in_pictures_or_the_cloud_is_exposed_new_wallet_and_delete(
    language, first, then, words
):
    chat = Chat(language=language)
    reply = chat.say(first)
    assert reply.handoff is None
    for word in words:
        assert word in reply.text.lower(), reply.text
    again = chat.say(then)
    assert again.text != reply.text and again.handoff is None, again.text


def test_asking_whether_to_screenshot_a_seed_is_not_told_it_is_exposed():
    reply = Chat(language="en").say("should I take a screenshot of my seed phrase as a backup?")
    assert "counts as exposed" not in reply.text, reply.text


def test_how_much_on_another_network_during_fees_is_its_fee():
    chat = Chat()
    chat.say("站内转账给好友收手续费吗")
    reply = chat.say("那提到外部地址 ETH 走 ERC20 要多少")
    assert reply.intent == "fees" and reply.handoff is None, (
        reply.intent,
        reply.text,
    )  # not a wrong-network deposit


def test_moving_it_to_a_new_phone_after_an_authenticator_question_is_the_authenticator():
    chat = Chat(language="en")
    chat.say("my authenticator codes are always wrong")
    reply = chat.say("sorted, the clock was off. now how do I get it onto my new phone")
    assert reply.intent == "two_factor", (reply.intent, reply.text)


# --- an app the scammer asked the customer to install -------------------------------------------


@pytest.mark.parametrize(
    "language,first,then,word",
    [
        ("zh-hans", "有个自称客服的人加我 让我下载一个他们的app来处理退款", "已经下好了 但还没打开", "卸载"),
        (
            "en",
            "a guy claiming to be your support says I must install their app to fix my account",
            "ok I downloaded it but didn't open it yet",
            "uninstall",
        ),
    ],
)
def test_the_scammers_app_installed_but_not_opened_is_deleted_without_a_hand_off(language, first, then, word):
    chat = Chat(language=language)
    chat.say(first)
    reply = chat.say(then)
    assert word in reply.text, reply.text
    assert reply.handoff is None, reply.text


def test_the_scammers_app_opened_is_urgent():
    chat = Chat(language="en")
    chat.say("someone pretending to be your support told me to download an app to verify my wallet")
    reply = chat.say("I installed it and logged in with my password")
    assert reply.handoff is not None and "uninstall" in reply.text, reply.text


@pytest.mark.parametrize(
    "language,text,word",
    [
        ("zh-hant", "連了一個挖礦的DApp按了授權 結果錢包的幣被轉光了", "授權"),
        ("en", "approved some dapp for an airdrop and now all my tokens got drained", "revoke"),
    ],
)
def test_drained_after_a_dapp_approval_is_urgent_and_says_revoke_the_approval(language, text, word):
    reply = Chat(language=language).say(text)
    assert reply.handoff is not None, reply.text
    assert word in reply.text.lower() or word in reply.text, reply.text
