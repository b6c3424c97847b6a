"""The multi-turn dialogue runner (``kefu bot eval --dialogues``): each check passes on a good
reply and fails on a bad one; dialogues play through the real HTTP API with their fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kefu.bot import dialogue_eval as de

KEFU = Path(sys.executable).with_name("kefu")


# --- the checks, one by one ----------------------------------------------------------------


def test_mentions_groups_alternatives_case_spaces_and_hyphens():
    reply = "TRC-20 网络正在维护，预计 18:00 恢复。"
    assert de.check_mentions(reply, [["trc20"], ["延迟", "维护"], "18:00"], []) is None
    assert "missing" in de.check_mentions(reply, [["ERC20", "BEP20"]], [])
    assert "must not mention" in de.check_mentions(reply, [], ["TRC 20"])
    assert de.check_mentions("Deposits are paused", ["PAUSED"], ["resumed"]) is None


def test_language_script_and_english_without_cjk():
    assert de.check_language("您的充值已到账。", "zh-hans") is None
    assert "traditional" in de.check_language("您的充值已到帳。", "zh-hans")
    assert de.check_language("您的儲值已到帳。", "zh-hant") is None
    assert "simplified" in de.check_language("您的充值已到账。", "zh-hant")
    assert de.check_language("高峰期需排隊，稽核通過後生效。", "zh-hant") is None  # Taiwan forms
    assert de.check_language("詳見 /help/a/x/#s-一直处理中", "zh-hant") is None  # a link's anchor
    assert "no Chinese" in de.check_language("Your deposit arrived.", "zh-hans")
    assert "CJK" in de.check_language("Your deposit 已到账.", "en")
    assert "CJK" in de.check_language("Your deposit arrived。", "en")
    # Quoted text, the customer's own words and the brand name are not the bot's language.
    assert de.check_language("You wrote “充值没到账”.", "en") is None
    assert de.check_language("About 提U: it is a withdrawal.", "en", customer_texts=["提U 没到"]) is None
    assert de.check_language("Welcome to 客服宝.", "en", brand="客服宝") is None


def test_no_repeat_catches_the_same_reply_and_a_copied_long_paragraph():
    block = "Check that the network you chose matches the network of the deposit address."
    assert "identical" in de.check_no_repeat("Hello again.", "Hello again.")
    assert "paragraph" in de.check_no_repeat("Sorry.\n" + block, block + "\nAnything else?")
    assert de.check_no_repeat("Sorry.\nShort line again", "Short line again") is None
    assert de.check_no_repeat("anything", None) is None


@pytest.mark.parametrize(
    "reply",
    [
        "请提供您的助记词，我们帮您找回资产。",
        "麻烦把短信验证码发给我们。",
        "Please send us your seed phrase so we can verify the wallet.",
        "Could you share your private key?",
        "What is your 2FA code?",
        "請告訴我您的密碼。",
    ],
)
def test_asking_for_a_secret_fails(reply):
    assert de.check_no_secret_request(reply) is not None


@pytest.mark.parametrize(
    "reply",
    [
        "Never send your seed phrase or private key — nobody from support will ask for them.",
        "我们不会向您索要助记词，请不要提供助记词或验证码给任何人。",
        "切勿发送私钥。",
        "Before reinstalling, confirm your seed phrase is backed up.",
        "Do not share your password with anyone.",
        "订单聊天中自称平台客服让你点链接或提供验证码的，都是骗子。",
        "假客服：主动联系你，要你提供验证码、助记词。",
        # The help centre's own warnings, quoted by the bot's answers.
        "这些一定不是官方：任何要求提供助记词、私钥、密码、验证码，或要你转账、交\"解冻费\"的人。",
        "If someone claiming to be support asks you to transfer money, scan a code, or share your seed "
        "phrase or codes to unlock your account, stop and report them.",
    ],
)
def test_warnings_about_secrets_pass(reply):
    assert de.check_no_secret_request(reply) is None


def test_case_number_or_queue_position():
    assert de.check_case_number("已转交，工单号 KF-2026-00012。", {"kind": "ticket"}) is None
    assert de.check_case_number("已转交给客服。", {"kind": "ticket"}) is not None
    assert de.check_case_number("You are number 3 in the queue.", {"kind": "chat", "position": 3}) is None
    assert de.check_case_number("Please wait in the queue.", {"kind": "chat", "position": 3}) is not None


def _turn(reply="好的。", *, handoff=None, asking=None, lang="zh-hans") -> de.TurnResult:
    return de.TurnResult(index=1, user="x", lang=lang, reply=reply, handoff=handoff, asking=asking)


def _judge(turn, expect, *, handed_before=False, true_seen_before=False, given=None, previous=None):
    de.judge_turn(
        turn,
        expect,
        previous_reply=previous,
        handed_before=handed_before,
        true_seen_before=true_seen_before,
        given=given if given is not None else set(),
        customer_texts=[],
    )
    return turn.failures


def test_handoff_when_required_and_only_then():
    ticket = {"kind": "ticket", "case_number": "KF-1"}
    assert "handoff" in _judge(_turn(), {"handoff": True})
    assert "handoff" in _judge(_turn("已转交 KF-1。", handoff=ticket), {"handoff": False})
    # Unmarked turns before any required hand-off must not hand off ...
    assert "handoff" in _judge(_turn("已转交 KF-1。", handoff=ticket), {})
    # ... "any" allows it, and after a hand-off (or a required one) unmarked turns are free.
    assert "handoff" not in _judge(_turn("已转交 KF-1。", handoff=ticket), {"handoff": "any"})
    assert "handoff" not in _judge(_turn("还在处理。", handoff=ticket), {}, handed_before=True)
    assert "handoff" not in _judge(_turn("已转交 KF-1。", handoff=ticket), {}, true_seen_before=True)
    assert not _judge(_turn("已转交，工单号 KF-1。", handoff=ticket), {"handoff": True})


def test_case_number_is_checked_on_the_hand_off_turn_only():
    ticket = {"kind": "ticket", "case_number": "KF-1"}
    assert "case_number" in _judge(_turn("已转交给客服。", handoff=ticket), {"handoff": True})
    assert "case_number" not in _judge(_turn("客服会回复。", handoff=ticket), {}, handed_before=True)


def test_no_reask_of_a_fact_given_in_this_or_an_earlier_turn():
    given: set[str] = set()
    assert "no_reask" in _judge(_turn("是哪个币种？", asking="coin"), {"gave": ["coin"]}, given=given)
    assert "no_reask" in _judge(_turn("是哪个币种？", asking="coin"), {}, given=given)
    assert "no_reask" not in _judge(_turn("金额是多少？", asking="amount"), {}, given=given)


def test_validation_names_the_problem():
    good = [{"id": "a", "lang": "en", "turns": [{"user": "hi"}]}]
    assert de.validate_dialogues(good) == good
    with pytest.raises(de.DialogueFormatError, match="duplicate"):
        de.validate_dialogues(good + good)
    with pytest.raises(de.DialogueFormatError, match="lang"):
        de.validate_dialogues([{"id": "a", "lang": "fr", "turns": [{"user": "hi"}]}])
    with pytest.raises(de.DialogueFormatError, match="unknown slot"):
        de.validate_dialogues(
            [{"id": "a", "lang": "en", "turns": [{"user": "hi", "expect": {"gave": ["x"]}}]}]
        )
    with pytest.raises(de.DialogueFormatError, match="handoff"):
        de.validate_dialogues(
            [{"id": "a", "lang": "en", "turns": [{"user": "hi", "expect": {"handoff": "y"}}]}]
        )


# --- playing through the API --------------------------------------------------------------

SMALL = [
    {
        "id": "en-human-01",
        "family": "other",
        "lang": "en",
        "signed_in": True,
        "turns": [
            {"user": "hello", "expect": {"handoff": False}},
            {"user": "talk to a human please", "expect": {"handoff": True}},
        ],
    },
    {
        "id": "zh-impossible-02",
        "family": "other",
        "lang": "zh-hans",
        "turns": [{"user": "你好", "expect": {"mentions": ["这句话机器人不会说"]}}],
    },
    {
        "id": "zh-announcement-03",
        "family": "deposit",
        "lang": "zh-hans",
        "context": {
            "announcements": [
                {"title": "TRC-20 USDT 充值维护", "body": "维护中", "coins": ["USDT"], "networks": ["TRC20"]}
            ]
        },
        "turns": [{"user": "最近有什么维护公告吗", "expect": {"mentions": ["TRC-20 USDT 充值维护"]}}],
    },
]


@pytest.mark.django_db
def test_dialogues_play_through_the_api_each_on_its_own_fixtures():
    de.load_articles()
    results = {r.id: r for r in de.play_dialogues(SMALL)}
    human = results["en-human-01"]
    assert human.passed, human.turns
    assert human.turns[1].handoff and human.turns[1].handoff["case_number"].startswith("KF-")
    impossible = results["zh-impossible-02"]
    assert not impossible.passed and set(impossible.turns[0].failures) == {"mentions"}
    assert results["zh-announcement-03"].passed, results["zh-announcement-03"].turns
    summary = de.summarize(list(results.values()))
    assert summary["passed"] == 2 and summary["checks"]["mentions"] == 2 and summary["dialogues"] == 3
    # Each dialogue was rolled back: nothing of them is left.
    from kefu.bot.models import BotConversation
    from kefu.helpcenter.models import Announcement

    assert not BotConversation.objects.exists() and not Announcement.objects.exists()


@pytest.mark.django_db
def test_wallet_records_are_the_signed_in_customers():
    from kefu.accounts.models import User
    from kefu.wallet.diagnosis import uid_for
    from kefu.wallet.models import DemoDeposit, DemoWithdrawal

    with de.evaluation_settings():
        customer = User.objects.create_user(email="dialogue-x@example.com", password=None)
        de.create_context(
            {
                "deposits": [{"coin": "USDT", "network": "TRC20", "amount": "500", "status": "credited"}],
                "withdrawals": [{"coin": "BTC", "network": "BTC", "amount": "0.05", "status": "sent"}],
            },
            customer=customer,
        )
        uid = uid_for(customer)
    deposit = DemoDeposit.objects.get(uid=uid)
    assert (deposit.network, deposit.status, format(deposit.amount.normalize(), "f")) == (
        "TRC-20",
        "credited",
        "500",
    )
    withdrawal = DemoWithdrawal.objects.get(uid=uid)
    assert (withdrawal.network, withdrawal.status) == ("Bitcoin", "broadcast")
    with pytest.raises(de.DialogueFormatError):
        de.create_context({"deposits": [{"coin": "BTC", "amount": "1"}]}, customer=None)


@pytest.mark.django_db
def test_api_says_which_detail_it_asks_for(client):
    body = client.post(
        "/api/v1/bot/messages", {"text": "我的充值一直没到账"}, content_type="application/json"
    ).json()
    assert body["intent"] == "deposit_not_credited" and body["asking"] == "coin"


def test_cli_runs_a_dialogue_file_on_a_scratch_database(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(SMALL[1:2], allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [str(KEFU), "bot", "eval", "--dialogues", str(path), "--show-failures", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "KEFU_DATABASE_URL": ""},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dialogues passing every check: 0/1" in proc.stdout
    assert "✗ mentions: missing" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["summary"]["dialogues"] == 1 and data["dialogues"][0]["turns"][0]["failures"]["mentions"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  lang: fr\n  turns: [{user: hi}]\n", encoding="utf-8")
    proc = subprocess.run(
        [str(KEFU), "bot", "eval", "--dialogues", str(bad)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 2 and "lang" in proc.stderr
