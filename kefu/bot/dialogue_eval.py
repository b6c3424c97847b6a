"""Multi-turn dialogue evaluation: play scripted conversations through the bot's HTTP API and
apply the mechanical checks of the dialogue format (/work/briefs/dialogue-format.md, summarised in
docs/bot-engine.md, "Conversations").

``kefu bot eval --dialogues FILE`` calls :func:`run_on_scratch_database`; tests call
:func:`play_dialogues` inside their own test database. Each dialogue runs in a transaction that
is rolled back afterwards, so every dialogue starts from an empty database plus its own fixtures
(announcements, the signed-in customer's wallet records, official channels).
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

LANGS = ("zh-hans", "zh-hant", "en")
FAMILIES = (
    "deposit", "withdrawal", "account", "security", "fees", "trading", "app", "kyc", "scam",
    "complaint", "chitchat", "other",
)  # fmt: skip
SLOT_NAMES = (
    "coin", "network", "amount", "time", "txid", "address", "memo", "error", "email", "phone",
    "handle", "order_id",
)  # fmt: skip
# The checks, in the order of the format's list; a dialogue passes when all pass on every turn.
CHECKS = ("handoff", "case_number", "language", "no_repeat", "no_reask", "mentions", "no_secret_request")
CHECK_TITLES = {
    "handoff": "hand-off when required and only then",
    "case_number": "case number / queue position shown at hand-off",
    "language": "reply language and script",
    "no_repeat": "no repeated reply",
    "no_reask": "no re-asking a given fact",
    "mentions": "essentials mentioned",
    "no_secret_request": "never asks for secrets",
}
API = "/api/v1/bot/messages"
BROWSER_HEADER = {"zh-hans": "zh-Hans,zh;q=0.9", "zh-hant": "zh-Hant,zh;q=0.9", "en": "en-US,en;q=0.9"}


class DialogueFormatError(ValueError):
    """The dialogue file does not follow the format."""


# --- loading ---------------------------------------------------------------------------------


def load_dialogues(path: Path | str) -> list[dict[str, Any]]:
    """Read and validate a dialogue file; raises :class:`DialogueFormatError` with the place."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DialogueFormatError(f"{path}: not valid YAML: {exc}") from exc
    return validate_dialogues(data, source=str(path))


def validate_dialogues(data: Any, *, source: str = "dialogues") -> list[dict[str, Any]]:
    if not isinstance(data, list) or not data:
        raise DialogueFormatError(f"{source}: expected a non-empty list of dialogues")
    seen: set[str] = set()
    for number, dialogue in enumerate(data, start=1):
        where = f"{source}: dialogue {number}"
        if not isinstance(dialogue, dict):
            raise DialogueFormatError(f"{where}: expected a mapping")
        ident = dialogue.get("id")
        if not isinstance(ident, str) or not ident:
            raise DialogueFormatError(f"{where}: missing id")
        where = f"{source}: {ident}"
        if ident in seen:
            raise DialogueFormatError(f"{where}: duplicate id")
        seen.add(ident)
        if dialogue.get("lang") not in LANGS:
            raise DialogueFormatError(f"{where}: lang must be one of {', '.join(LANGS)}")
        if dialogue.get("browser", dialogue["lang"]) not in LANGS:
            raise DialogueFormatError(f"{where}: browser must be one of {', '.join(LANGS)}")
        turns = dialogue.get("turns")
        if not isinstance(turns, list) or not turns:
            raise DialogueFormatError(f"{where}: no turns")
        for index, turn in enumerate(turns, start=1):
            if (
                not isinstance(turn, dict)
                or not isinstance(turn.get("user"), str)
                or not turn["user"].strip()
            ):
                raise DialogueFormatError(f"{where}: turn {index} has no user text")
            if turn.get("lang", dialogue["lang"]) not in LANGS:
                raise DialogueFormatError(f"{where}: turn {index}: bad lang")
            expect = turn.get("expect") or {}
            if not isinstance(expect, dict):
                raise DialogueFormatError(f"{where}: turn {index}: expect must be a mapping")
            if expect.get("handoff", "any") not in (True, False, "any"):
                raise DialogueFormatError(f"{where}: turn {index}: handoff must be true, false or any")
            unknown = [s for s in expect.get("gave") or [] if s not in SLOT_NAMES]
            if unknown:
                raise DialogueFormatError(f"{where}: turn {index}: unknown slot(s) {unknown}")
    return data


# --- the checks (pure functions: each returns None when it passes, else the reason) ----------------


def _match_form(text: str) -> str:
    """Case-insensitive, spaces and hyphens ignored ("TRC-20" matches "trc20")."""
    return re.sub(r"[\s\-‐‑–]+", "", unicodedata.normalize("NFKC", text)).casefold()


def check_mentions(reply: str, mentions: Sequence[Any], not_mentions: Sequence[Any]) -> str | None:
    text = _match_form(reply)
    missing = []
    for group in mentions or []:
        options = [group] if isinstance(group, str) else list(group)
        if not any(_match_form(str(option)) in text for option in options):
            missing.append(options[0] if len(options) == 1 else options)
    present = [str(bad) for bad in not_mentions or [] if _match_form(str(bad)) in text]
    reasons = []
    if missing:
        reasons.append(f"missing {missing}")
    if present:
        reasons.append(f"must not mention {present}")
    return "; ".join(reasons) or None


@cache
def _opencc(config: str) -> Any:
    from opencc import OpenCC

    return OpenCC(config)


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Ideographs, kana, hangul and full-width punctuation: none belongs in an English reply.
_CJK_RUN = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff01-\uff60]+"
)
_LINKS = re.compile(r"(?:https?://|/help/)\S+")
_QUOTED = re.compile(r"“[^”]*”|‘[^’]*’|「[^」]*」|『[^』]*』|\"[^\"\n]*\"")


def check_language(
    reply: str, lang: str, *, customer_texts: Sequence[str] = (), brand: str = ""
) -> str | None:
    """zh-hans: simplified Han; zh-hant: traditional Han (OpenCC s2t changes nothing); en: no CJK
    outside quoted text, the customer's own words and the brand name."""
    own = _LINKS.sub(" ", _QUOTED.sub(" ", reply))  # a link's address is not prose
    if brand:
        own = own.replace(brand, " ")
    if lang == "en":
        foreign = [
            run
            for run in _CJK_RUN.findall(own)
            if not any(run.strip("，。！？：；、（）「」") in said for said in customer_texts)
        ]
        return f"CJK text in an English reply: {foreign[:3]}" if foreign else None
    if not _HAN.search(own):
        return f"no Chinese text in a {lang} reply"
    if lang == "zh-hans":
        converted = _opencc("t2s").convert(own)
        wrong = "".join(sorted({a for a, b in zip(own, converted, strict=False) if a != b}))
        return f"traditional characters in a zh-hans reply: {wrong[:20]}" if wrong else None
    # A character is simplified when every traditional convention (OpenCC s2t, s2tw, s2hk)
    # changes it; s2t alone also rewrites some traditional variants (峰 → 峯, 核 → 覈).
    changed = [
        {a for a, b in zip(own, _opencc(config).convert(own), strict=False) if a != b}
        for config in ("s2t", "s2tw", "s2hk")
    ]
    wrong = "".join(sorted(changed[0] & changed[1] & changed[2]))
    return f"simplified characters in a zh-hant reply: {wrong[:20]}" if wrong else None


def check_no_repeat(reply: str, previous: str | None) -> str | None:
    """Not the previous reply again, and no paragraph of 40+ characters copied from it."""
    if previous is None:
        return None
    if reply.strip() == previous.strip():
        return "identical to the previous reply"
    for paragraph in (p.strip() for p in reply.splitlines()):
        if len(paragraph) >= 40 and paragraph in previous:
            return f"paragraph repeated from the previous reply: {paragraph[:60]!r}"
    return None


_SECRETS_ZH = (
    r"(?:助记词|助記詞|私钥|私鑰|密钥|密鑰|验证码|驗證碼|密码|密碼|恢复短语|恢復短語|谷歌验证码|2fa码)"
)
_SECRETS_EN = (
    r"(?:seed(?:\s+phrase|\s+words)?|recovery\s+phrase|mnemonic(?:\s+phrase)?|secret\s+phrase|private\s+key|"
    r"verification\s+code|security\s+code|2fa\s+code|otp(?:\s+code)?|sms\s+code|one[-\s]time\s+(?:code|password)|"
    r"password|passcode|pin)"
)
_ASK_SECRET = re.compile(
    r"(?:提供|发送|發送|发给|發給|发一下|發一下|发过来|發過來|告诉|告訴|提交|粘贴|貼上|贴出|回复|回覆|报一下|報一下|"
    r"说一下|說一下|给我|給我)\s*(?:一下)?\s*(?:我们|我們|我|客服|给我们|給我們)?\s*(?:您|你)?(?:的)?\s*"
    + _SECRETS_ZH
    + r"|(?:把|将|將)\s*(?:您|你)?(?:的)?\s*(?:短信|邮箱|郵箱|谷歌)?\s*"
    + _SECRETS_ZH
    + r"\s*(?:发|發|告诉|告訴|提供|给|給|交|贴|貼|报|報)"
    + r"|(?:send|provide|share|tell|give|paste|reply\s+with|type\s+(?:it\s+)?here)\s+(?:me\s+|us\s+)?"
    r"(?:with\s+)?(?:your|the)\s+(?:\w+\s+)?"
    + _SECRETS_EN
    + r"\b|(?:what\s+is|what's)\s+your\s+(?:\w+\s+)?"
    + _SECRETS_EN
    + r"\b",
    re.I,
)
# A request right after one of these is a warning ("never send your seed phrase"), not a request.
_NEGATION = re.compile(
    r"(?:never|n't|not|no\s+one|nobody|don'?t|do\s+not|won'?t|will\s+not|refuse\s+to|anyone\s+who\s+asks\s+you\s+to|"
    r"不要|不會|不会|不能|不得|勿|别|別|绝不|絕不|永远不|永遠不|千万不|千萬不|从不|從不|不可|禁止|没有人|沒有人|任何人"
    r")"
    r"[^。.!！?？;；\n]{0,24}$",
    re.I,
)


# A sentence about what scammers do ("假客服：……要你提供验证码") describes, it does not ask.
# So does one that says who is not official ("这些一定不是官方：任何要求提供助记词……的人") or
# what to do if someone asks ("If someone claiming to be support asks you to share your seed
# phrase, stop and report them"): the help centre's own warnings read like that.
_SCAM_CONTEXT = re.compile(
    r"假|骗子|騙子|诈骗|詐騙|scammers?|fraudsters?|fake|impostors?|phishing|钓鱼|釣魚"
    r"|不是官方|非官方|冒充|自称|自稱|任何要求|任何索要|not\s+(?:an?\s+)?official|\bif\s+(?:someone|anyone|anybody)\b",
    re.I,
)
# "... 让你提供验证码的，都是骗子" / "... asks for your seed is a scammer": a warning too.
_CALLED_SCAM = re.compile(
    r"[^。.!！?？\n]{0,6}(?:都是|就是|是|一定是|肯定是)?\s*(?:骗子|騙子|诈骗|詐騙)|.{0,12}\bscam", re.I
)


def check_no_secret_request(reply: str) -> str | None:
    for match in _ASK_SECRET.finditer(reply):
        before = reply[max(0, match.start() - 40) : match.start()]
        after = reply[match.end() : match.end() + 16]
        sentence = re.split(r"[。.!！?？\n]", reply[: match.start()])[-1]
        if _NEGATION.search(before) or _CALLED_SCAM.match(after) or _SCAM_CONTEXT.search(sentence):
            continue
        return f"asks for a secret: {match.group(0)!r}"
    return None


_CASE = re.compile(r"KF-[0-9][0-9-]*")


def check_case_number(reply: str, handoff: Mapping[str, Any] | None) -> str | None:
    """At the hand-off: a KF- case number, or (live chat) the queue position, is in the reply."""
    if _CASE.search(reply):
        return None
    if handoff and handoff.get("kind") == "chat":
        position = handoff.get("position")
        if position is None or re.search(rf"(?<!\d){int(position)}(?!\d)", reply):
            return None  # an agent free now has no queue position to show
        return f"queue position {position} not shown"
    return "no case number (KF-…) in the hand-off reply"


# --- playing ---------------------------------------------------------------------------------


@dataclass
class TurnResult:
    index: int
    user: str
    lang: str
    reply: str = ""
    intent: str | None = None
    asking: str | None = None
    handoff: dict[str, Any] | None = None
    status: int = 200
    failures: dict[str, str] = field(default_factory=dict)  # check → reason


@dataclass
class DialogueResult:
    id: str
    family: str
    lang: str
    turns: list[TurnResult] = field(default_factory=list)
    error: str = ""

    @property
    def failed_checks(self) -> set[str]:
        failed = {check for turn in self.turns for check in turn.failures}
        return failed | ({"api"} if self.error else set())

    @property
    def passed(self) -> bool:
        return not self.failed_checks


def judge_turn(
    turn: TurnResult,
    expect: Mapping[str, Any],
    *,
    previous_reply: str | None,
    handed_before: bool,
    true_seen_before: bool,
    given: set[str],
    customer_texts: Sequence[str],
    brand: str = "",
    secret_warning: str = "",
) -> None:
    """Apply every check to one played turn (``turn.failures`` collects the reasons)."""
    wanted = expect.get("handoff", None)
    handed = turn.handoff is not None
    if wanted is True and not handed:
        turn.failures["handoff"] = "expected a hand-off by this turn"
    elif wanted is False and handed:
        turn.failures["handoff"] = "handed off although this turn must not"
    elif wanted is None and handed and not handed_before and not true_seen_before:
        turn.failures["handoff"] = "handed off before (or without) any turn that requires it"
    if handed and not handed_before and (reason := check_case_number(turn.reply, turn.handoff)):
        turn.failures["case_number"] = reason
    shown = turn.reply + ("\n" + secret_warning if secret_warning else "")
    if reason := check_language(shown, turn.lang, customer_texts=customer_texts, brand=brand):
        turn.failures["language"] = reason
    if reason := check_no_repeat(turn.reply, previous_reply):
        turn.failures["no_repeat"] = reason
    # The reply to the message that gave a fact must not ask for it either.
    given |= set(expect.get("gave") or [])
    if turn.asking and turn.asking in given:
        turn.failures["no_reask"] = f"asks for {turn.asking!r}, already given"
    if reason := check_mentions(shown, expect.get("mentions") or [], expect.get("not_mentions") or []):
        turn.failures["mentions"] = reason
    if reason := check_no_secret_request(turn.reply):
        turn.failures["no_secret_request"] = reason


def play_dialogue(
    dialogue: Mapping[str, Any], *, number: int = 0, timings: list[tuple[float, float]] | None = None
) -> DialogueResult:
    """Play one dialogue through the HTTP API in a transaction that is rolled back afterwards.

    ``timings`` (scripts/bench_dialogues.py) collects (wall, CPU) seconds per message: the whole
    request, from the HTTP layer through the dialogue manager to the saved reply.
    """
    import time

    from django.conf import settings
    from django.db import transaction
    from django.test import Client

    result = DialogueResult(
        id=dialogue["id"], family=str(dialogue.get("family", "other")), lang=dialogue["lang"]
    )
    brand = str(settings.KEFU_BRAND_NAME)
    # The cache is the run's own (evaluation_settings) and not cleared between dialogues: the help
    # centre's search index lives there, and rebuilding it per dialogue is no server's reality.
    # Rate limits are out of the way; rolled-back rows leave no stale entry that matters.
    with transaction.atomic():
        try:
            browser = dialogue.get("browser", dialogue["lang"])
            client = Client(HTTP_ACCEPT_LANGUAGE=BROWSER_HEADER[browser])
            customer = None
            if dialogue.get("signed_in"):
                from kefu.accounts.models import User

                customer = User.objects.create_user(email=f"dialogue-{number}@example.com", password=None)
                client.force_login(customer)
            create_context(dialogue.get("context") or {}, customer=customer)
            conversation_id: str | None = None
            previous: str | None = None
            handed_before = true_seen = False
            given: set[str] = set()
            said: list[str] = []
            for index, spec in enumerate(dialogue["turns"], start=1):
                said.append(spec["user"])
                turn = TurnResult(index=index, user=spec["user"], lang=spec.get("lang", dialogue["lang"]))
                body: dict[str, Any] = {"text": spec["user"]}
                if conversation_id:
                    body["conversation_id"] = conversation_id
                wall, cpu = time.perf_counter(), time.thread_time()
                response = client.post(API, body, content_type="application/json")
                if timings is not None:
                    timings.append((time.perf_counter() - wall, time.thread_time() - cpu))
                turn.status = response.status_code
                if response.status_code != 200:
                    result.error = f"turn {index}: HTTP {response.status_code} {response.content[:200]!r}"
                    result.turns.append(turn)
                    break
                data = response.json()
                conversation_id = data["conversation_id"]
                turn.reply = data.get("reply") or ""
                turn.intent = data.get("intent")
                turn.asking = data.get("asking")
                turn.handoff = data.get("handoff")
                expect = spec.get("expect") or {}
                judge_turn(
                    turn,
                    expect,
                    previous_reply=previous,
                    handed_before=handed_before,
                    true_seen_before=true_seen,
                    given=given,
                    customer_texts=said,
                    brand=brand,
                    secret_warning=data.get("secret_warning") or "",
                )
                result.turns.append(turn)
                previous = turn.reply
                handed_before = handed_before or turn.handoff is not None
                true_seen = true_seen or expect.get("handoff") is True
        except Exception as exc:  # one broken dialogue must not end the run
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            transaction.set_rollback(True)
    return result


def play_dialogues(
    dialogues: Sequence[Mapping[str, Any]],
    *,
    progress: Callable[[DialogueResult], None] | None = None,
    timings: list[tuple[float, float]] | None = None,
) -> list[DialogueResult]:
    """Play every dialogue (the database must exist and be migrated; each is rolled back)."""
    results = []
    with evaluation_settings():
        for number, dialogue in enumerate(dialogues, start=1):
            result = play_dialogue(dialogue, number=number, timings=timings)
            results.append(result)
            if progress is not None:
                progress(result)
    return results


@contextmanager
def evaluation_settings() -> Iterator[None]:
    """A private cache (never the operator's Redis: it is cleared per dialogue), no rate limits
    in the way of a scripted run, the demo wallet in a temporary file and no chain node."""
    from django.test import override_settings

    with (
        tempfile.TemporaryDirectory(prefix="kefu-dialogues-") as scratch,
        override_settings(
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": "dialogues",
                }
            },
            KEFU_BOT_RATE=(1_000_000, 60),
            KEFU_TICKET_CREATE_RATE="1000000/60",
            KEFU_CHAT_START_RATE="1000000/60",
            KEFU_WALLET_BACKEND="kefu.wallet.demo.DemoWalletBackend",
            KEFU_WALLET_RECORDS=None,
            KEFU_WALLET_DEMO_FILE=str(Path(scratch) / "wallet-demo.json"),
            KEFU_CHAIN_URLS={},
            KEFU_ETH_RPC_URL="",
            KEFU_BSC_RPC_URL="",
            KEFU_POLYGON_RPC_URL="",
            KEFU_ARBITRUM_RPC_URL="",
            KEFU_OPTIMISM_RPC_URL="",
            KEFU_BTC_ESPLORA_URL="",
            KEFU_WALLET_API_URL="",
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
    ):
        yield


# --- fixtures --------------------------------------------------------------------------------

# The format's network names → the names the wallet records use.
_NETWORKS = {
    "BTC": "Bitcoin", "BITCOIN": "Bitcoin", "ETH": "ERC-20", "ETHEREUM": "ERC-20", "ERC20": "ERC-20",
    "TRC20": "TRC-20", "TRON": "TRC-20", "TRX": "TRC-20", "BEP20": "BEP-20", "BSC": "BEP-20",
    "SOL": "Solana", "SOLANA": "Solana", "POLYGON": "Polygon", "MATIC": "Polygon",
    "ARBITRUM": "Arbitrum", "OPTIMISM": "Optimism", "TON": "TON", "XRP": "XRP",
}  # fmt: skip
_DEPOSIT_STATUS = {"pending": "confirming", "credited": "credited", "failed": "failed", "held": "held"}
_WITHDRAWAL_STATUS = {
    "pending": "processing", "reviewing": "reviewing", "sent": "broadcast", "failed": "failed",
    "rejected": "cancelled", "completed": "completed", "submitted": "submitted",
}  # fmt: skip


def network_name(value: str) -> str:
    token = re.sub(r"[^0-9A-Za-z]", "", str(value)).upper()
    return _NETWORKS.get(token, str(value))


def _address(network: str, label: str) -> str:
    from kefu.wallet import demo_records

    if network == "TRC-20":
        return demo_records.demo_tron_address(label)
    if network == "Bitcoin":
        return demo_records.demo_btc_address(label)
    if network == "XRP":
        return demo_records.demo_xrp_address(label)
    return demo_records.demo_evm_address(label)


def create_context(context: Mapping[str, Any], *, customer: Any) -> None:
    """Create a dialogue's fixtures: announcements, the customer's wallet records, channels."""
    from django.utils import timezone

    now = timezone.now()
    if context.get("announcements"):
        from kefu.helpcenter.models import Announcement, AnnouncementKind

        for item in context["announcements"]:
            text = f"{item.get('title', '')} {item.get('body', '')}"
            kind = (
                AnnouncementKind.MAINTENANCE
                if re.search(r"维护|維護|maintenance|upgrade|升级|升級", text, re.I)
                else AnnouncementKind.INCIDENT
            )
            Announcement.objects.create(
                kind=kind,
                title_zh=item.get("title", ""),
                title_en=item.get("title_en") or item.get("title", ""),
                body_zh=item.get("body", ""),
                body_en=item.get("body_en") or item.get("body", ""),
                starts_at=now - timedelta(hours=2),
                coins=[str(c).upper() for c in item.get("coins") or []],
                networks=[network_name(n) for n in item.get("networks") or []],
            )
    if context.get("official_channels"):
        from kefu.trust.actions import do_add_official_channel

        for item in context["official_channels"]:
            do_add_official_channel(kind=item["kind"], value=str(item["value"]), label=item.get("label", ""))
    records = (context.get("deposits") or [], context.get("withdrawals") or [])
    if not any(records):
        return
    if customer is None:
        raise DialogueFormatError("deposits/withdrawals need signed_in: true")
    from kefu.wallet.diagnosis import uid_for
    from kefu.wallet.models import DemoDeposit, DemoDepositAddress, DemoWithdrawal

    uid = uid_for(customer)
    if uid is None:
        raise RuntimeError("the demo wallet backend did not resolve the customer")
    for item in records[0]:
        network = network_name(item.get("network") or item["coin"])
        address = _address(network, f"{uid}-deposit-{network}")
        DemoDepositAddress.objects.get_or_create(
            uid=uid, coin=str(item["coin"]).upper(), network=network, defaults={"address": address}
        )
        created = now - timedelta(minutes=float(item.get("minutes_ago", 30)))
        status = _DEPOSIT_STATUS.get(str(item.get("status", "credited")), "confirming")
        DemoDeposit.objects.create(
            uid=uid,
            coin=str(item["coin"]).upper(),
            network=network,
            amount=Decimal(str(item["amount"])),
            address=address,
            tx_hash=str(item.get("txid") or ""),
            status=status,
            created_at=created,
            credited_at=created + timedelta(minutes=2) if status == "credited" else None,
        )
    for number, item in enumerate(records[1]):
        network = network_name(item.get("network") or item["coin"])
        created = now - timedelta(minutes=float(item.get("minutes_ago", 30)))
        DemoWithdrawal.objects.create(
            uid=uid,
            coin=str(item["coin"]).upper(),
            network=network,
            amount=Decimal(str(item["amount"])),
            address=_address(network, f"{uid}-withdrawal-{number}"),
            tx_hash=str(item.get("txid") or ""),
            status=_WITHDRAWAL_STATUS.get(str(item.get("status", "pending")), "processing"),
            created_at=created,
            updated_at=created,
        )


# --- the report --------------------------------------------------------------------------------


def summarize(results: Sequence[DialogueResult]) -> dict[str, Any]:
    total = len(results)
    per_check = {
        check: sum(1 for r in results if check not in r.failed_checks and not r.error) for check in CHECKS
    }
    by_family: dict[str, list[bool]] = defaultdict(list)
    by_lang: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        by_family[r.family].append(r.passed)
        by_lang[r.lang].append(r.passed)
    turns = [t for r in results for t in r.turns]
    return {
        "dialogues": total,
        "passed": sum(r.passed for r in results),
        "turns": len(turns),
        "turns_passed": sum(not t.failures for t in turns),
        "errors": sum(bool(r.error) for r in results),
        "checks": per_check,
        "families": {k: [sum(v), len(v)] for k, v in sorted(by_family.items())},
        "languages": {k: [sum(v), len(v)] for k, v in sorted(by_lang.items())},
    }


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.1%})" if d else "0/0"


def format_report(results: Sequence[DialogueResult], *, show_failures: bool = False) -> str:
    s = summarize(results)
    lines = [
        f"dialogues passing every check: {_pct(s['passed'], s['dialogues'])}",
        f"turns passing every check: {_pct(s['turns_passed'], s['turns'])}",
        "per check (dialogues passing it):",
    ]
    lines += [
        f"  {check:<18} {_pct(n, s['dialogues']):>16}  {CHECK_TITLES[check]}"
        for check, n in s["checks"].items()
    ]
    if s["errors"]:
        lines.append(f"  dialogues that could not be played: {s['errors']}")
    lines.append("per family:")
    lines += [f"  {name:<12} {_pct(*pair)}" for name, pair in s["families"].items()]
    lines.append("per language:")
    lines += [f"  {name:<12} {_pct(*pair)}" for name, pair in s["languages"].items()]
    if show_failures:
        for r in results:
            if r.passed:
                continue
            lines.append("")
            lines.append(f"✗ {r.id} [{r.family}, {r.lang}]")
            if r.error:
                lines.append(f"  error: {r.error}")
            for t in r.turns:
                if not t.failures:
                    continue
                lines.append(f"  turn {t.index} user: {t.user}")
                reply = t.reply.replace("\n", "\n         ")
                lines.append(f"       bot: {reply}")
                lines.append(f"       (intent {t.intent}, asking {t.asking}, handoff {bool(t.handoff)})")
                for check, reason in t.failures.items():
                    lines.append(f"       ✗ {check}: {reason}")
    return "\n".join(lines)


def results_json(results: Sequence[DialogueResult]) -> dict[str, Any]:
    return {
        "summary": summarize(results),
        "dialogues": [
            {
                "id": r.id,
                "family": r.family,
                "lang": r.lang,
                "passed": r.passed,
                "error": r.error,
                "turns": [
                    {
                        "user": t.user,
                        "reply": t.reply,
                        "intent": t.intent,
                        "asking": t.asking,
                        "handoff": t.handoff,
                        "failures": t.failures,
                    }
                    for t in r.turns
                ],
            }
            for r in results
        ],
    }


def load_articles() -> None:
    """The help centre's bundled articles, as an installation has them (the bot answers from them)."""
    from kefu.helpcenter.actions import sync_articles_from_content

    sync_articles_from_content()


def run_on_scratch_database(
    dialogues: Sequence[Mapping[str, Any]],
    *,
    progress: Callable[[DialogueResult], None] | None = None,
    timings: list[tuple[float, float]] | None = None,
    rounds: int = 1,
) -> list[DialogueResult]:
    """Create a throw-away test database (as the test runner does), play, and drop it again.

    The configured database is never written: Django's test-database machinery makes a separate
    one (SQLite: in memory; PostgreSQL: ``test_<name>``).
    """
    from django.db import connections
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    connection = connections["default"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        load_articles()
        results: list[DialogueResult] = []
        for _ in range(rounds):
            results = play_dialogues(dialogues, progress=progress, timings=timings)
        return results
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
