"""What Kefu knows that bears on the customer's question, said plainly, before any advice.

* Active announcements (maintenance, incidents) that concern the coin or network asked about:
  "USDT TRC-20 deposit not credited" during an announced TRC-20 maintenance is answered with
  the maintenance, not with generic steps.
* For a signed-in customer, their own recent deposits and withdrawals in the wallet
  (:mod:`kefu.wallet.records`) that match what they described, and the chain diagnosis of a
  transaction hash they gave (:mod:`kefu.wallet.diagnosis`).
* Whether a handle, number, site or address someone contacted them from is one of the official
  channels (:mod:`kefu.trust.verifier`).

:func:`facts_for` never raises: a wallet that cannot be reached is itself a fact ("I can't see
your records right now"), and anything else going wrong costs only the facts it concerns.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from kefu.accounts.models import User
    from kefu.helpcenter.models import Announcement
    from kefu.wallet.records import DepositRecord, WithdrawalRecord

logger = logging.getLogger("kefu.bot.facts")

# Records looked at when the customer gave no time: transfers older than this are rarely what
# "my deposit hasn't arrived" is about, and saying "nothing in the last day" is checkable.
RECENT_HOURS = 24
# With a time given ("today 10:00"), records this close to it count.
AROUND_TIME_HOURS = 12
MAX_RECORDS_SAID = 2
# Seconds the chain node gets to answer a hash for the facts (one try; the reply waits for it).
FACT_LOOKUP_TIMEOUT = 2.0


@dataclass(frozen=True)
class Fact:
    kind: str  # "announcement" | "deposit" | "withdrawal" | "diagnosis" | "official_channel"
    text: str  # one or two plain sentences in the requested language
    urgent: bool = False
    # An announcement's body alone, to say again in other words on a follow-up ("so what now?").
    detail: str = field(default="", compare=False)


Kind = Literal["deposit", "withdrawal"]


def _language(language: str) -> str:
    return "en" if (language or "").lower().startswith("en") else "zh-hans"


def _token(value: str | None) -> str:
    # "TRC-20", "trc20" and "TRC 20" name the same network.
    return re.sub(r"[^0-9a-z]", "", (value or "").lower())


def facts_for(
    *,
    customer: User | AnonymousUser | None,
    intent: str | None,
    slots: Mapping[str, str],
    language: str,
) -> list[Fact]:
    """Announcements first, then the customer's matching records and the chain diagnosis."""
    lang = _language(language)
    facts: list[Fact] = []
    with translation.override(lang):
        coin = (slots.get("coin") or "").strip().upper()
        network = (slots.get("network") or "").strip()
        try:
            facts.extend(announcement_facts(coin=coin, network=network, language=lang))
        except Exception:  # a broken announcement must not cost the customer their answer
            logger.exception("announcement facts failed")
        kinds = _kinds(intent, slots)
        if kinds and customer is not None and customer.is_authenticated:
            try:
                facts.extend(_record_facts(customer, kinds=kinds, slots=slots, language=lang))
            except Exception:
                logger.exception("wallet record facts failed")
                facts.append(Fact(kind=kinds[0], text=_cannot_see_records()))
    return facts


def _kinds(intent: str | None, slots: Mapping[str, str]) -> tuple[Kind, ...]:
    """Which records the question is about: by intent, else both when a transfer is described."""
    name = intent or ""
    if "deposit" in name:
        return ("deposit",)
    if "withdraw" in name:
        return ("withdrawal",)
    if any((slots.get(key) or "").strip() for key in ("txid", "amount")):
        return ("deposit", "withdrawal")
    return ()


# --- announcements -------------------------------------------------------------------------


def announcement_facts(*, coin: str, network: str, language: str) -> list[Fact]:
    """Announcements in force that concern ``coin``/``network``; without either, site-wide
    maintenance and incidents only (a general notice is not news about this question)."""
    from kefu.helpcenter.models import AnnouncementKind
    from kefu.helpcenter.selectors import active_announcements

    facts = []
    for item in active_announcements(coin=coin or None, network=network or None):
        names_asset = bool(item.coins or item.networks)
        if coin or network:
            relevant = names_asset or item.kind != AnnouncementKind.NOTICE
        else:
            relevant = not names_asset and item.kind != AnnouncementKind.NOTICE
        if relevant:
            facts.append(
                Fact(
                    kind="announcement",
                    text=_announcement_text(item, language),
                    urgent=True,
                    detail=_short(item.body_for(language)),
                )
            )
    return facts


def _announcement_text(item: Announcement, language: str) -> str:
    title = item.title_for(language).strip().rstrip("。.")
    body = _short(item.body_for(language))
    if item.ends_at is not None:
        text = _("Announcement: {title} (until {end}).").format(title=title, end=_when(item.ends_at))
    else:
        text = _("Announcement: {title}.").format(title=title)
    return _join(language, text, body)


def _join(language: str, *sentences: str) -> str:
    """Sentences as one text: spaced in English, run together in Chinese."""
    return ("" if language.startswith("zh") else " ").join(part.strip() for part in sentences if part.strip())


# An announcement's text is said whole when it is this short (what is paused, what is not, what
# happens to transfers sent meanwhile); a longer one is cut after two sentences.
ANNOUNCEMENT_CHARS = 320


def _short(text: str) -> str:
    text = " ".join((text or "").split())
    if len(text) <= ANNOUNCEMENT_CHARS:
        return text
    ends = [m.end() for m in re.finditer(r"[。！？!?]|\.(?=\s|$)", text)]
    cut = ends[1] if len(ends) > 1 else (ends[0] if ends else ANNOUNCEMENT_CHARS)
    return text[: min(cut, ANNOUNCEMENT_CHARS)].strip()


# --- the customer's records ----------------------------------------------------------------


def _cannot_see_records() -> str:
    return _(
        "I can't see your deposit and withdrawal records right now. Please try again in a few "
        "minutes, or leave the details and an agent will check them."
    )


def _record_facts(
    customer: User, *, kinds: Sequence[Kind], slots: Mapping[str, str], language: str
) -> list[Fact]:
    from kefu.wallet.backend import WalletBackendError, get_wallet_backend
    from kefu.wallet.records import get_wallet_records, same_hash

    try:
        backend = get_wallet_backend()
        found = backend.find_customer(email=customer.email) if customer.email else None
        if found is None and customer.phone:
            found = backend.find_customer(phone=customer.phone)
        if found is None:
            return []
        records = get_wallet_records()
        txid = (slots.get("txid") or "").strip()
        listed: dict[Kind, list[Any]] = {}
        for kind in kinds:
            if kind == "deposit":
                listed[kind] = list(records.deposits(found.uid, tx_hash=txid or None))
            else:
                listed[kind] = list(records.withdrawals(found.uid, tx_hash=txid or None))
    except WalletBackendError:
        logger.warning("wallet backend unavailable for the bot's facts", exc_info=True)
        return [Fact(kind=kinds[0], text=_cannot_see_records())]

    facts: list[Fact] = []
    coin = (slots.get("coin") or "").strip().upper()
    network = _token(slots.get("network"))
    amount = _decimal(slots.get("amount"))
    when = _parse_time(slots.get("time"))
    now = timezone.now()
    start, end = (
        (when - timedelta(hours=AROUND_TIME_HOURS), when + timedelta(hours=AROUND_TIME_HOURS))
        if when
        else (now - timedelta(hours=RECENT_HOURS), now)
    )
    found_any = False
    record_network = ""  # the network of the record a hash found, for the chain to ask
    for kind, items in listed.items():
        if txid:
            # The hash decides: a customer who names the wrong coin still gets their record.
            matching = [r for r in items if same_hash(r.tx_hash, txid)]
        else:
            matching = [
                r
                for r in items
                if (not coin or r.coin.upper() == coin)
                and (not network or _token(r.network) == network)
                and start <= r.created_at <= end
            ]
        if amount is not None:
            exact = [r for r in matching if r.amount == amount]
            matching = exact or matching
        matching.sort(key=lambda r: r.created_at, reverse=True)
        for record in matching[:MAX_RECORDS_SAID]:
            facts.append(_record_fact(kind, record))
        found_any = found_any or bool(matching)
        if matching and not record_network:
            record_network = matching[0].network
        if not matching and len(kinds) == 1:
            facts.append(Fact(kind=kind, text=_nothing_found(kind, coin, network_label(slots), when, txid)))
    if txid and not found_any and len(kinds) > 1:
        facts.append(
            Fact(
                kind=kinds[0],
                text=_("I see no deposit or withdrawal with that transaction hash in your account."),
            )
        )
    if txid:
        diagnosis = _diagnosis_fact(
            customer,
            kinds=kinds,
            slots=slots,
            language=language,
            has_record=found_any,
            network_hint=record_network,
        )
        if diagnosis is not None:
            facts.append(diagnosis)
    return facts


def network_label(slots: Mapping[str, str]) -> str:
    """The network as customers read it: the slots' "TRC20" is shown "TRC-20"."""
    network = (slots.get("network") or "").strip()
    return re.sub(r"^([A-Za-z]{3})(\d{2,3})$", r"\1-\2", network)


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal((value or "").replace(",", "").strip()) if (value or "").strip() else None
    except InvalidOperation:
        return None


def _parse_time(value: str | None) -> datetime | None:
    try:
        parsed = parse_datetime((value or "").strip())
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _amount(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _when(moment: datetime) -> str:
    """ "10:02" today, else "12-05 10:02", in the site's time zone."""
    local = timezone.localtime(moment)
    if local.date() == timezone.localtime().date():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")


def _what(record: DepositRecord | WithdrawalRecord) -> dict[str, str]:
    return {
        "amount": _amount(record.amount),
        "coin": record.coin,
        "network": record.network,
        "time": _when(record.created_at),
    }


def _record_fact(kind: Kind, record: Any) -> Fact:
    from kefu.wallet.records import DepositState, WithdrawalState

    what = _what(record)
    if kind == "deposit":
        status = record.status
        if status == DepositState.CREDITED:
            done = record.credited_at or record.created_at
            text = _("{amount} {coin} ({network}) arrived at {time} and was credited at {done}.").format(
                **what, done=_when(done)
            )
        elif status == DepositState.CONFIRMING:
            text = _(
                "{amount} {coin} ({network}) arrived at {time} and is waiting for network "
                "confirmations; it is credited automatically once they are reached."
            ).format(**what)
        elif status == DepositState.HELD:
            text = _(
                "{amount} {coin} ({network}) arrived at {time} and is held for a security review; "
                "an agent has to release it."
            ).format(**what)
        else:
            text = _(
                "{amount} {coin} ({network}) arrived at {time} but could not be credited "
                "automatically; an agent has to handle it."
            ).format(**what)
        return Fact(kind="deposit", text=text, urgent=status in (DepositState.HELD, DepositState.FAILED))
    status = record.status
    if status == WithdrawalState.COMPLETED:
        text = _("Your withdrawal of {amount} {coin} ({network}) from {time} is complete on the chain.")
    elif status == WithdrawalState.BROADCAST:
        text = _(
            "Your withdrawal of {amount} {coin} ({network}) from {time} has been sent to the network "
            "and is waiting for confirmations."
        )
    elif status == WithdrawalState.REVIEWING:
        text = _(
            "Your withdrawal of {amount} {coin} ({network}) from {time} is held for a security "
            "review and has not been sent yet."
        )
    elif status in (WithdrawalState.SUBMITTED, WithdrawalState.PROCESSING):
        text = _(
            "Your withdrawal of {amount} {coin} ({network}) from {time} is being processed and "
            "has not been sent to the network yet."
        )
    elif status == WithdrawalState.FAILED:
        text = _(
            "Your withdrawal of {amount} {coin} ({network}) from {time} failed; the funds are back "
            "in your balance."
        )
    else:
        text = _(
            "Your withdrawal of {amount} {coin} ({network}) from {time} was cancelled; the funds "
            "are back in your balance."
        )
    return Fact(
        kind="withdrawal",
        text=text.format(**what),
        urgent=status in (WithdrawalState.REVIEWING, WithdrawalState.FAILED),
    )


def _nothing_found(kind: Kind, coin: str, network: str, when: datetime | None, txid: str) -> str:
    asset = " ".join(part for part in (coin, f"({network})" if network else "") if part)
    if txid:
        if kind == "deposit":
            return _("I see no deposit with that transaction hash in your account.")
        return _("I see no withdrawal with that transaction hash in your account.")
    if when is not None:
        if kind == "deposit":
            text = _("I see no {asset} deposit to your account around {time}.")
        else:
            text = _("I see no {asset} withdrawal from your account around {time}.")
        return _tidy(text.format(asset=asset, time=_when(when)))
    if kind == "deposit":
        text = _("I see no {asset} deposit to your account in the last {hours} hours.")
    else:
        text = _("I see no {asset} withdrawal from your account in the last {hours} hours.")
    return _tidy(text.format(asset=asset, hours=RECENT_HOURS))


def _tidy(text: str) -> str:
    """The space an empty ``{asset}`` leaves: doubled in English, between two Chinese words."""
    text = re.sub(r" {2,}", " ", text)
    return re.sub(r"(?<=[\u3400-\u9fff，]) (?=[\u3400-\u9fff])", "", text)


def _diagnosis_fact(
    customer: User,
    *,
    kinds: Sequence[Kind],
    slots: Mapping[str, str],
    language: str,
    has_record: bool,
    network_hint: str = "",
) -> Fact | None:
    """What the chain says about the hash the customer gave; None when it adds nothing to the
    wallet record already said, or the chain cannot be asked."""
    from kefu.wallet.chain import (
        ChainUnavailable,
        InvalidTxHash,
        RetryPolicy,
        chain_for_coin,
        chain_for_network,
        configured_chains,
        lookup_transaction,
    )
    from kefu.wallet.chain.specs import retry_policy
    from kefu.wallet.diagnosis import Verdict, diagnose_for_bot

    txid = slots.get("txid") or ""
    network = slots.get("network") or network_hint
    coin = slots.get("coin") or ""
    chain = chain_for_network(network) or chain_for_coin(coin)
    if chain in configured_chains():
        # One short try first: a slow or dead node costs the reply seconds at most, never the
        # full retry schedule (the diagnosis below then reads the cached answer).
        policy = RetryPolicy(attempts=1, backoff=0, timeout=min(retry_policy().timeout, FACT_LOOKUP_TIMEOUT))
        try:
            lookup_transaction(chain, txid, policy=policy)
        except InvalidTxHash:
            pass  # the diagnosis says so
        except ChainUnavailable:
            logger.info("chain %s unavailable for the bot's facts", chain)
            return None
    result = diagnose_for_bot(
        customer=customer,
        coin=coin or None,
        network=network or None,
        tx_hash=txid or None,
        language=language,
        kind=kinds[0] if len(kinds) == 1 else None,
    )
    if result.verdict in (Verdict.CHAIN_UNAVAILABLE, Verdict.UNSUPPORTED_NETWORK, Verdict.NEEDS_TX_HASH):
        return None
    if has_record and result.confirmations is None:
        return None  # the record said it; the chain was not read
    sentences = [result.message]
    if result.confirmations is not None and result.required_confirmations:
        sentences.append(
            _("Confirmations: {done} of {needed}.").format(
                done=result.confirmations, needed=result.required_confirmations
            )
        )
    if result.needs_attention and result.next_step:
        sentences.append(result.next_step)
    return Fact(kind="diagnosis", text=_join(language, *sentences), urgent=result.needs_attention)


# --- official channels ---------------------------------------------------------------------

# Host labels may hold Latin, Greek or Cyrillic look-alike letters and full-width ones (the
# verifier folds them), but not Chinese characters: "请看lumenwallet-support.example网站" names
# lumenwallet-support.example.
_LABEL = r"[a-z0-9\u00a1-\u2fff\uff10-\uff19\uff21-\uff3a\uff41-\uff5a-]+"
_URL = re.compile(
    rf"(?i)(?<![a-z0-9_.@-])(?:https?://)?(?:{_LABEL}\.)+(?:xn--[a-z0-9-]+|[a-z\uff41-\uff5a]{{2,24}})"
    r"(?![a-z0-9_-])"
    r"(?:[/?#][^\s，。、）)\u3400-\u9fff]*)?"
)
_EMAIL = re.compile(r"(?i)\b[a-z0-9._%+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}\b")
_HANDLE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_]{2,32})\b")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s-]{5,18}\d(?!\w)")
_TELEGRAM_WORDS = ("telegram", "tg", "电报", "電報", "飞机", "飛機", "纸飞机")
_X_WORDS = ("twitter", "推特", "x.com")


# "screenshot.png" is a file the customer attached, not a website.
_FILE_ENDINGS = frozenset(
    "png jpg jpeg gif webp heic bmp pdf txt doc docx xls xlsx csv zip rar mp4 mov apk".split()
)


def _candidates(text: str) -> list[tuple[str, str]]:
    """``(kind, value)`` pairs a customer may have pasted, most specific first: email addresses,
    links, handles, bare domain names, then phone numbers."""
    found: list[tuple[str, str]] = []
    emails = _EMAIL.findall(text)
    found.extend(("email", value) for value in emails)
    rest = text
    for value in emails:
        rest = rest.replace(value, " ")
    bare: list[tuple[str, str]] = []
    for match in _URL.finditer(rest):
        value = match.group(0)
        lower = value.lower()
        if lower.startswith(("t.me/", "https://t.me/", "http://t.me/", "telegram.me/")):
            found.append(("telegram", value))
        elif re.match(r"(?i)(https?://)?(www\.)?(x|twitter)\.com/\w", value):
            found.append(("x", value))
        elif lower.startswith(("http://", "https://", "www.")):
            found.append(("website", value))
        elif lower.rpartition(".")[2] not in _FILE_ENDINGS:
            bare.append(("website", value))
    lowered = text.lower()
    says_x = any(word in lowered for word in _X_WORDS) and not any(w in lowered for w in _TELEGRAM_WORDS)
    for handle in _HANDLE.findall(rest):
        # "@name" alone: Telegram, where most fake support lives, unless the customer says X;
        # the other network is tried too (a handle too long for X can only be Telegram).
        first, second = ("x", "telegram") if says_x else ("telegram", "x")
        found.append((first, "@" + handle))
        found.append((second, "@" + handle))
    found.extend(bare)
    for match in _PHONE.finditer(rest):
        digits = re.sub(r"\D", "", match.group(0))
        if 7 <= len(digits) <= 15:
            found.append(("phone", match.group(0).strip()))
    return found


def check_channel(text: str, *, language: str) -> Fact | None:
    """The official-channel verdict on the first handle, number, site or email in ``text``."""
    from kefu.trust.selectors import official_channel_groups
    from kefu.trust.verifier import InvalidChannelValue
    from kefu.trust.verifier import check_channel as verify

    lang = _language(language)
    with translation.override(lang):
        candidates = _candidates(text or "")
        for position, (kind, value) in enumerate(candidates):
            try:
                result = verify(kind=kind, value=value)
            except InvalidChannelValue:
                continue
            except Exception:
                logger.exception("official-channel check failed")
                return None
            if not result.official and value.startswith("@"):
                # The same handle on the other network: official there means it is ours.
                for other_kind, other_value in candidates[position + 1 :]:
                    if other_value != value:
                        continue
                    try:
                        other = verify(kind=other_kind, value=other_value)
                    except InvalidChannelValue:
                        continue
                    if other.official:
                        result = other
            try:
                groups = official_channel_groups()
            except Exception:
                logger.exception("official-channel registry unreadable")
                groups = []
            return Fact(
                kind="official_channel",
                text=_channel_text(value, result, groups, lang),
                urgent=not result.official,
            )
    return None


# How a channel kind is named in a sentence ("we have no official phone number").
_KIND_NAMES = {
    "website": gettext_lazy("website"),
    "email": gettext_lazy("email address"),
    "phone": gettext_lazy("phone number"),
    "telegram": gettext_lazy("Telegram account"),
    "x": gettext_lazy("X (Twitter) account"),
}


def _channel_text(value: str, result: Any, groups: list[Any], language: str) -> str:
    same_kind = next((g for g in groups if g.kind == result.kind), None)
    name = str(_KIND_NAMES.get(result.kind, result.kind))
    if result.official:
        text = _(
            "{value} is one of our official channels. Even so, our staff will never ask for your seed "
            "phrase, private key or verification codes — never give them to anyone."
        ).format(value=value)
        if result.kind in ("phone", "whatsapp"):
            # A caller's number proves nothing: it can be faked to show ours.
            text = _join(
                language,
                text,
                _("Caller ID can be faked: if in doubt, hang up and call this number back yourself."),
            )
        return text
    sentences = []
    if result.lookalike_of:
        sentences.append(
            _(
                "{value} is NOT one of our official channels: it imitates our official {official}, "
                "a common scam trick."
            ).format(value=value, official=_shown(result.lookalike_of, groups))
        )
    else:
        sentences.append(_("{value} is NOT one of our official channels.").format(value=value))
    if same_kind is not None:
        sentences.append(
            _("Our official {kind} is {official}.").format(kind=name, official=", ".join(same_kind.channels))
        )
    else:
        sentences.append(_("We have no official {kind}.").format(kind=name))
        listed = _("; ").join(
            _("{kind}: {channels}").format(
                kind=_KIND_NAMES.get(g.kind, g.label), channels=", ".join(g.channels)
            )
            for g in groups
        )
        if listed:
            sentences.append(_("Our official channels are: {channels}.").format(channels=listed))
    if not result.lookalike_of:
        # Said plainly: "not official" and "scam" are the words a worried customer looks for.
        sentences.append(_("It is not official: treat it as a scam."))
    sentences.append(_("Do not send it money, verification codes, your seed phrase or your private key."))
    return _join(language, *sentences)


def _shown(normalized: str, groups: list[Any]) -> str:
    """A registered channel as customers see it ("@LumenWallet" rather than "lumenwallet")."""
    for group in groups:
        for channel in group.channels:
            if channel.lstrip("@").lower() == normalized.lower():
                return str(channel)
    return normalized
