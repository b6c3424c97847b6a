"""Chain-aware diagnosis of a deposit or withdrawal question.

Combines three sources an agent would check by hand — the customer's records in the wallet
(:mod:`kefu.wallet.records`), the chain (:mod:`kefu.wallet.chain`) and active announcements
(``kefu.helpcenter``) — into one :class:`Diagnosis`: a stable ``verdict`` code for programs
(the bot's flows, the ticket sidebar, the CLI), a ``message`` and ``next_step`` in the
customer's language, and the ``evidence`` behind it.

Order of reasoning for a deposit with a hash: the wallet's own record wins when it is final
(credited, held, failed); otherwise the chain decides — invalid hash, unreachable node, not
found (also looked for on the other configured EVM chains, to catch a wrong network), reverted
— then where the value went (the customer's address on this network, their address on another
network, a shared address needing a memo, or nobody of theirs), and finally how far along it is
(paused by an announcement, confirming, confirmed but not yet credited).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from kefu.wallet.chain import (
    ChainUnavailable,
    InvalidTxHash,
    TxInfo,
    chain_for_coin,
    chain_for_network,
    configured_chains,
    get_spec,
    lookup_transaction,
    required_confirmations,
)
from kefu.wallet.chain.base import check_hex64
from kefu.wallet.chain.registry import ChainNotConfigured
from kefu.wallet.records import (
    DepositAddress,
    DepositRecord,
    DepositState,
    WalletRecords,
    WithdrawalRecord,
    WithdrawalState,
    get_wallet_records,
    same_hash,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from kefu.accounts.models import User
    from kefu.tickets.models import Category, Ticket

logger = logging.getLogger("kefu.wallet.diagnosis")

Kind = Literal["deposit", "withdrawal"]


class Verdict(StrEnum):
    """Stable codes; programs branch on these, never on the message."""

    CONFIRMING = "confirming"
    CONFIRMED = "confirmed"  # final on chain; no wallet records to compare with
    AWAITING_CREDIT = "awaiting_credit"
    CREDITED = "credited"
    NOT_YOURS = "not_yours"
    WRONG_NETWORK = "wrong_network"
    MEMO_MISSING = "memo_missing"
    REVERTED = "reverted"
    HELD_FOR_REVIEW = "held_for_review"
    DEPOSIT_FAILED = "deposit_failed"
    DEPOSITS_PAUSED = "deposits_paused"
    WITHDRAWALS_PAUSED = "withdrawals_paused"
    NOT_FOUND = "not_found"
    CHAIN_UNAVAILABLE = "chain_unavailable"
    INVALID_HASH = "invalid_hash"
    UNSUPPORTED_NETWORK = "unsupported_network"
    NEEDS_TX_HASH = "needs_tx_hash"
    WITHDRAWAL_PENDING_INTERNAL = "withdrawal_pending_internal"
    WITHDRAWAL_BROADCAST = "withdrawal_broadcast"
    WITHDRAWAL_COMPLETED = "withdrawal_completed"
    WITHDRAWAL_FAILED = "withdrawal_failed"
    NO_WITHDRAWAL = "no_withdrawal"


# Short names for the sidebar's badge (the code stays in its tooltip for runbooks).
VERDICT_LABELS = {
    Verdict.CONFIRMING: pgettext_lazy("diagnosis verdict", "Confirming"),
    Verdict.CONFIRMED: pgettext_lazy("diagnosis verdict", "Confirmed on chain"),
    Verdict.AWAITING_CREDIT: pgettext_lazy("diagnosis verdict", "Awaiting credit"),
    Verdict.CREDITED: pgettext_lazy("diagnosis verdict", "Credited"),
    Verdict.NOT_YOURS: pgettext_lazy("diagnosis verdict", "Not to this customer"),
    Verdict.WRONG_NETWORK: pgettext_lazy("diagnosis verdict", "Wrong network"),
    Verdict.MEMO_MISSING: pgettext_lazy("diagnosis verdict", "Memo/tag missing"),
    Verdict.REVERTED: pgettext_lazy("diagnosis verdict", "Failed on chain"),
    Verdict.HELD_FOR_REVIEW: pgettext_lazy("diagnosis verdict", "Held for review"),
    Verdict.DEPOSIT_FAILED: pgettext_lazy("diagnosis verdict", "Deposit failed"),
    Verdict.DEPOSITS_PAUSED: pgettext_lazy("diagnosis verdict", "Deposits paused"),
    Verdict.WITHDRAWALS_PAUSED: pgettext_lazy("diagnosis verdict", "Withdrawals paused"),
    Verdict.NOT_FOUND: pgettext_lazy("diagnosis verdict", "Not found"),
    Verdict.CHAIN_UNAVAILABLE: pgettext_lazy("diagnosis verdict", "Chain unavailable"),
    Verdict.INVALID_HASH: pgettext_lazy("diagnosis verdict", "Invalid hash"),
    Verdict.UNSUPPORTED_NETWORK: pgettext_lazy("diagnosis verdict", "Unsupported network"),
    Verdict.NEEDS_TX_HASH: pgettext_lazy("diagnosis verdict", "Needs a tx hash"),
    Verdict.WITHDRAWAL_PENDING_INTERNAL: pgettext_lazy("diagnosis verdict", "Withdrawal processing"),
    Verdict.WITHDRAWAL_BROADCAST: pgettext_lazy("diagnosis verdict", "Withdrawal broadcast"),
    Verdict.WITHDRAWAL_COMPLETED: pgettext_lazy("diagnosis verdict", "Withdrawal completed"),
    Verdict.WITHDRAWAL_FAILED: pgettext_lazy("diagnosis verdict", "Withdrawal failed"),
    Verdict.NO_WITHDRAWAL: pgettext_lazy("diagnosis verdict", "No such withdrawal"),
}


# Verdicts an agent should act on (shown highlighted in the sidebar).
ATTENTION_VERDICTS = frozenset(
    {
        Verdict.NOT_YOURS,
        Verdict.WRONG_NETWORK,
        Verdict.MEMO_MISSING,
        Verdict.REVERTED,
        Verdict.NOT_FOUND,
        Verdict.INVALID_HASH,
        Verdict.DEPOSIT_FAILED,
        Verdict.WITHDRAWAL_FAILED,
    }
)


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on one question, with what it rests on and what to do next."""

    found: bool
    status: Literal["pending", "success", "failed"] | None
    confirmations: int | None
    required_confirmations: int | None
    verdict: Verdict
    message: str
    evidence: list[str]
    next_step: str
    kind: Kind | None = None
    chain: str | None = None
    tx_hash: str | None = None
    eta_minutes: int | None = None
    tx: TxInfo | None = field(default=None, repr=False)
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def chain_label(self) -> str:
        """The chain's display name ("Ethereum"), or "" when none was looked at."""
        return get_spec(self.chain).label if self.chain else ""

    @property
    def verdict_label(self) -> str:
        return str(VERDICT_LABELS.get(self.verdict, self.verdict))

    @property
    def needs_attention(self) -> bool:
        """Whether an agent should act (wrong address or network, memo, revert, not found ...)."""
        return self.verdict in ATTENTION_VERDICTS

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the contract fields plus context (``tx`` is the raw chain answer)."""
        data = asdict(self)
        data["verdict"] = str(self.verdict)
        data["checked_at"] = self.checked_at.isoformat()
        data["tx"] = self.tx.as_dict() if self.tx is not None else None
        return data


# --------------------------------------------------------------------------- entry points


def diagnose(
    *,
    tx_hash: str | None,
    chain: str | None = None,
    uid: str | None = None,
    coin: str | None = None,
    network: str | None = None,
    kind: Kind | None = None,
    language: str | None = None,
    refresh: bool = False,
    records: WalletRecords | None = None,
) -> Diagnosis:
    """Diagnose a deposit or withdrawal question.

    ``chain`` names the chain to look on (``"ethereum"``); without it the chain is taken from
    ``network`` ("ERC-20"), then ``coin`` ("BTC"). ``uid`` is the customer's wallet uid (None:
    chain facts only). ``kind`` None means: a withdrawal if the hash is one of the customer's
    withdrawals, else a deposit. ``refresh`` bypasses the lookup cache. Never raises for the
    customer's input or an unreachable node — those are verdicts; ``KeyError`` for an unknown
    ``chain`` name is a programming error.
    """
    if chain is not None:
        get_spec(chain)
    with translation.override(language or translation.get_language() or "en"):
        run = _Run(
            tx_hash=(tx_hash or "").strip() or None,
            chain=chain,
            uid=uid,
            coin=(coin or "").strip().upper() or None,
            network=(network or "").strip() or None,
            kind=kind,
            refresh=refresh,
            records=records,
        )
        return run.diagnose()


def uid_for(customer: User | str | None) -> str | None:
    """The wallet uid of a Kefu user (by email, then phone), an email, or a uid; None if unknown."""
    if customer is None:
        return None
    from kefu.wallet.backend import WalletBackendError, get_wallet_backend

    try:
        backend = get_wallet_backend()
        if isinstance(customer, str):
            text = customer.strip()
            found = backend.find_customer(email=text) if "@" in text else backend.find_customer(uid=text)
        else:
            found = None
            if customer.email:
                found = backend.find_customer(email=customer.email)
            if found is None and customer.phone:
                found = backend.find_customer(phone=customer.phone)
    except WalletBackendError:
        logger.warning("wallet backend unavailable while resolving a customer", exc_info=True)
        return None
    return found.uid if found else None


def _signed_in(customer: User | AnonymousUser) -> TypeGuard[User]:
    return customer.is_authenticated


def diagnose_for_bot(
    *,
    customer: User | AnonymousUser | None,
    coin: str | None,
    network: str | None,
    tx_hash: str | None,
    language: str,
    kind: Kind | None = None,
) -> Diagnosis:
    """The bot's guided deposit/withdrawal flows call this with the slots they collected.

    ``customer`` is the signed-in Kefu user (or None for a guest: chain facts only). The
    answer is in ``language``; a guest gets no record-based verdicts.
    """
    return diagnose(
        tx_hash=tx_hash,
        uid=uid_for(customer) if customer is not None and _signed_in(customer) else None,
        coin=coin,
        network=network,
        kind=kind,
        language=language,
    )


def kind_for_ticket(ticket: Ticket) -> Kind | None:
    """Withdrawal or deposit, from the ticket's category (and its parent) and their bot intents."""
    names: list[str] = []
    node: Category | None = ticket.category
    while node is not None:
        names.append(node.slug)
        names.extend(node.intents or [])
        node = node.parent
    text = " ".join(names)
    if "withdraw" in text:
        return "withdrawal"
    if "deposit" in text:
        return "deposit"
    return None


def diagnose_ticket(ticket: Ticket, *, language: str | None = None, refresh: bool = False) -> Diagnosis:
    """Diagnose a ticket from its coin, network and tx hash and its customer's records."""
    return diagnose(
        tx_hash=ticket.tx_hash or None,
        uid=uid_for(ticket.customer),
        coin=ticket.coin,
        network=ticket.network,
        kind=kind_for_ticket(ticket),
        language=language,
        refresh=refresh,
    )


# --------------------------------------------------------------------------- helpers


def _same_address(a: str | None, b: str | None) -> bool:
    """EVM addresses and bech32 compare case-insensitively; base58 addresses exactly."""
    if not a or not b:
        return False
    a, b = a.strip(), b.strip()
    if a.lower().startswith(("0x", "bc1", "tb1", "bcrt1")):
        return a.lower() == b.lower()
    return a == b


def _amount(value: Decimal | None) -> str:
    if value is None:
        return "?"
    text = format(value.normalize(), "f") if value else "0"
    return text


def _short(address: str | None) -> str:
    if not address:
        return "?"
    return address if len(address) <= 16 else f"{address[:8]}…{address[-6:]}"


def _deposit_status_label(state: DepositState) -> str:
    return {
        DepositState.CONFIRMING: _("confirming"),
        DepositState.CREDITED: _("credited"),
        DepositState.HELD: _("held for review"),
        DepositState.FAILED: _("failed"),
    }[state]


def _withdrawal_status_label(state: WithdrawalState) -> str:
    return {
        WithdrawalState.SUBMITTED: _("submitted"),
        WithdrawalState.REVIEWING: _("in security review"),
        WithdrawalState.PROCESSING: _("processing"),
        WithdrawalState.BROADCAST: _("sent on chain"),
        WithdrawalState.COMPLETED: _("completed"),
        WithdrawalState.FAILED: _("failed"),
        WithdrawalState.CANCELLED: _("cancelled"),
    }[state]


_DEPOSIT_WORDS = ("deposit", "充值", "充币", "入金", "到账")
_WITHDRAW_WORDS = ("withdraw", "提币", "提现", "出金", "提幣", "提現")


def _paused_by(announcements: Iterable[Any], kind: Kind) -> Any | None:
    """The first active maintenance or incident announcement that stops ``kind``.

    An announcement that names deposits (or withdrawals) in its title or text stops only
    those; one that names neither stops both.
    """
    for item in announcements:
        if str(getattr(item, "kind", "")) == "notice":
            continue
        text = " ".join(
            str(getattr(item, attr, "") or "") for attr in ("title_en", "title_zh", "body_en", "body_zh")
        ).lower()
        says_deposit = any(w in text for w in _DEPOSIT_WORDS)
        says_withdraw = any(w in text for w in _WITHDRAW_WORDS)
        if not (says_deposit or says_withdraw):
            return item
        if (kind == "deposit" and says_deposit) or (kind == "withdrawal" and says_withdraw):
            return item
    return None


def _active_announcements(coin: str | None, network: str | None) -> list[Any]:
    """Active announcements about ``coin``/``network``; none if the help centre cannot say."""
    try:
        from kefu.helpcenter.selectors import active_announcements
    except ImportError:
        return []
    try:
        return list(active_announcements(coin=coin, network=network))
    except Exception:  # announcements are a hint; never let them break a diagnosis
        logger.warning("could not read announcements", exc_info=True)
        return []


def _title(announcement: Any) -> str:
    title_for = getattr(announcement, "title_for", None)
    if callable(title_for):
        return str(title_for(translation.get_language()))
    return str(getattr(announcement, "title", "") or "")


# --------------------------------------------------------------------------- the reasoning


class _Run:
    """One diagnosis: gathers evidence while it reasons; :meth:`diagnose` returns the result."""

    def __init__(
        self,
        *,
        tx_hash: str | None,
        chain: str | None,
        uid: str | None,
        coin: str | None,
        network: str | None,
        kind: Kind | None,
        refresh: bool,
        records: WalletRecords | None,
    ) -> None:
        self.tx_hash = tx_hash
        self.explicit_chain = chain
        self.uid = uid
        self.coin = coin
        self.network = network
        self.kind = kind
        self.refresh = refresh
        self._records = records
        self.evidence: list[str] = []
        self.chain: str | None = None
        self.tx: TxInfo | None = None
        self.addresses: list[DepositAddress] = []
        self.deposits: list[DepositRecord] = []
        self.withdrawals: list[WithdrawalRecord] = []
        self.records_ok = False

    # --- sources ---------------------------------------------------------------------------

    def _load_records(self) -> None:
        if not self.uid:
            return
        from kefu.wallet.backend import WalletBackendError

        try:
            records = self._records or get_wallet_records()
            self.addresses = records.deposit_addresses(self.uid)
            self.deposits = records.deposits(self.uid, tx_hash=self.tx_hash)
            self.withdrawals = records.withdrawals(self.uid, tx_hash=self.tx_hash)
            self.records_ok = True
        except WalletBackendError:
            logger.warning("wallet records unavailable for %s", self.uid, exc_info=True)
            self.evidence.append(_("Your wallet records could not be read just now."))

    def _pick_chain(self) -> str | None:
        if self.explicit_chain:
            return self.explicit_chain
        chain = chain_for_network(self.network)
        if chain:
            return chain
        if self.network:  # a network we cannot check (TRC-20, Solana, ...)
            return None
        chain = chain_for_coin(self.coin)
        if chain:
            return chain
        if self.tx_hash and self.tx_hash.lower().startswith("0x"):
            return "ethereum"
        return None

    def _lookup(self, chain: str) -> TxInfo:
        return lookup_transaction(chain, self.tx_hash or "", refresh=self.refresh)

    # --- result ----------------------------------------------------------------------------

    def _result(self, verdict: Verdict, message: str, next_step: str, *, eta: int | None = None) -> Diagnosis:
        tx = self.tx
        required = required_confirmations(self.chain) if self.chain else None
        return Diagnosis(
            found=bool(tx and tx.found),
            status=tx.state if tx else None,
            confirmations=tx.confirmations if tx and tx.found else None,
            required_confirmations=required,
            verdict=verdict,
            message=message,
            evidence=self.evidence,
            next_step=next_step,
            kind=self.kind,
            chain=self.chain,
            tx_hash=tx.tx_hash if tx else self.tx_hash,
            eta_minutes=eta,
            tx=tx,
        )

    def _label(self, chain: str | None = None) -> str:
        chain = chain or self.chain
        return get_spec(chain).label if chain else (self.network or "?")

    # --- top level -------------------------------------------------------------------------

    def diagnose(self) -> Diagnosis:
        self._load_records()
        if self.kind is None:
            self.kind = "withdrawal" if self.tx_hash and self.withdrawals else "deposit"
        self.chain = self._pick_chain()
        if self.kind == "withdrawal":
            return self._withdrawal()
        return self._deposit()

    # --- chain facts common to both kinds ----------------------------------------------------

    def _chain_prelude(self) -> Diagnosis | None:
        """Look the hash up; a Diagnosis if that alone decides (invalid, unavailable, ...)."""
        if self.chain is None:
            if self.network:
                return self._result(
                    Verdict.UNSUPPORTED_NETWORK,
                    _("We cannot check {network} transactions automatically.").format(network=self.network),
                    _("An agent will check it for you; please keep the transaction hash at hand."),
                )
            # No network, no telling coin, a bare hash: try every configured chain.
            try:
                check_hex64(self.tx_hash or "", chain="any")
            except InvalidTxHash:
                return self._invalid_hash()
            chains = configured_chains()
            if not chains:
                return self._result(
                    Verdict.UNSUPPORTED_NETWORK,
                    _("We cannot check this transaction on chain automatically."),
                    _("An agent will check it for you; please keep the transaction hash at hand."),
                )
            for chain in chains:
                try:
                    info = self._lookup(chain)
                except (InvalidTxHash, ChainUnavailable):
                    continue
                if info.found:
                    self.chain, self.tx = chain, info
                    break
            if self.tx is None:
                self.chain = None
                return self._result(
                    Verdict.NOT_FOUND,
                    _("Not found on chain: check the hash."),
                    self._not_found_step(),
                )
        try:
            if self.tx is None:
                assert self.chain is not None
                self.tx = self._lookup(self.chain)
        except InvalidTxHash:
            return self._invalid_hash()
        except ChainNotConfigured:
            return self._result(
                Verdict.UNSUPPORTED_NETWORK,
                _("We cannot check {network} transactions automatically.").format(network=self._label()),
                _("An agent will check it for you; please keep the transaction hash at hand."),
            )
        except ChainUnavailable as exc:
            logger.warning("diagnosis: %s", exc)
            self.evidence.append(_("The {chain} node did not answer.").format(chain=self._label()))
            return None  # the caller decides: records may still settle it
        if not self.tx.found:
            self._search_other_chains()
        if self.tx.found:
            self._describe_tx()
        return None

    def _search_other_chains(self) -> None:
        """Not on the chain asked: look on the other configured EVM chains (a wrong network)."""
        assert self.chain is not None and self.tx is not None
        if get_spec(self.chain).family != "evm":
            return
        asked = self.chain
        for chain in configured_chains():
            if chain == asked or get_spec(chain).family != "evm":
                continue
            try:
                info = self._lookup(chain)
            except (InvalidTxHash, ChainUnavailable):
                continue
            if info.found:
                self.evidence.append(
                    _("Not found on {asked}, but found on {chain}.").format(
                        asked=self._label(asked), chain=self._label(chain)
                    )
                )
                self.chain, self.tx = chain, info
                return

    def _describe_tx(self) -> None:
        tx = self.tx
        assert tx is not None and self.chain is not None
        if tx.pending:
            self.evidence.append(
                _("Found on {chain}, waiting to be included in a block.").format(chain=self._label())
            )
        else:
            when = tx.block_time.strftime("%Y-%m-%d %H:%M UTC") if tx.block_time else "?"
            self.evidence.append(
                _("Found on {chain} in block {block} ({time}).").format(
                    chain=self._label(), block=tx.block_number, time=when
                )
            )
            if tx.status == "failed":
                self.evidence.append(_("Status on chain: failed (reverted)."))
            else:
                self.evidence.append(
                    _("{confirmations}/{required} confirmations.").format(
                        confirmations=tx.confirmations, required=required_confirmations(self.chain)
                    )
                )
        spec = get_spec(self.chain)
        for transfer in tx.token_transfers:
            self.evidence.append(
                _("Token transfer of {amount} (contract {contract}) to {address}.").format(
                    amount=_amount(transfer.amount) if transfer.amount is not None else transfer.raw_amount,
                    contract=_short(transfer.contract),
                    address=transfer.to_address,
                )
            )
        if tx.outputs:
            for output in tx.outputs:
                if output.address:
                    self.evidence.append(
                        _("Sent {amount} {coin} to {address}.").format(
                            amount=_amount(output.value), coin=spec.native_coin, address=output.address
                        )
                    )
        elif tx.value and tx.to_address:
            self.evidence.append(
                _("Sent {amount} {coin} to {address}.").format(
                    amount=_amount(tx.value), coin=spec.native_coin, address=tx.to_address
                )
            )

    def _eta_minutes(self) -> int | None:
        tx = self.tx
        if tx is None or self.chain is None:
            return None
        missing = required_confirmations(self.chain) - (tx.confirmations or 0)
        if missing <= 0:
            return None
        return max(1, math.ceil(missing * get_spec(self.chain).block_seconds / 60))

    def _not_found_step(self) -> str:
        return _(
            "Copy the transaction hash again from the sending platform's history and check the "
            "network. A transaction that was never broadcast, or was dropped, does not show up."
        )

    # --- deposits --------------------------------------------------------------------------

    def _deposit(self) -> Diagnosis:
        if not self.tx_hash:
            return self._deposit_without_hash()
        record = next((d for d in self.deposits if same_hash(d.tx_hash, self.tx_hash or "")), None)
        if record is not None:
            self.evidence.append(
                _("Wallet record: deposit of {amount} {coin}, {status}.").format(
                    amount=_amount(record.amount),
                    coin=record.coin,
                    status=_deposit_status_label(record.status),
                )
            )
            if self.coin is None:
                self.coin = record.coin
        decided = self._chain_prelude()
        if record is not None and record.status == DepositState.CREDITED:
            return self._result(
                Verdict.CREDITED,
                _("This deposit was credited to your account."),
                _("Check your balance and history in the app; pull down to refresh if it does not show."),
            )
        if record is not None and record.status == DepositState.HELD:
            return self._held("deposit")
        if record is not None and record.status == DepositState.FAILED:
            return self._result(
                Verdict.DEPOSIT_FAILED,
                _("The wallet could not credit this deposit."),
                _("An agent will look into it; please open a ticket with the transaction hash."),
            )
        if decided is not None:
            return decided
        paused = _paused_by(_active_announcements(self.coin, self.network or self._network_name()), "deposit")
        if self.tx is None:  # the node did not answer
            if paused is not None:
                return self._paused("deposit", paused)
            return self._unavailable()
        if not self.tx.found:
            return self._result(
                Verdict.NOT_FOUND,
                _("Not found on {chain}: check the hash.").format(chain=self._label()),
                self._not_found_step(),
            )
        if self.tx.status == "failed":
            return self._reverted("deposit")
        if not self.records_ok or not self.addresses:
            return self._chain_only()
        return self._deposit_destination(record, paused)

    def _network_name(self) -> str | None:
        return get_spec(self.chain).network if self.chain else None

    def _deposit_destination(self, record: DepositRecord | None, paused: Any | None) -> Diagnosis:
        tx = self.tx
        assert tx is not None and self.chain is not None
        chain_network = get_spec(self.chain).network
        here: DepositAddress | None = None
        elsewhere: DepositAddress | None = None
        for address, _value, _token in tx.recipients():
            for mine in self.addresses:
                if not _same_address(address, mine.address):
                    continue
                if chain_for_network(mine.network) == self.chain or mine.network == chain_network:
                    here = here or mine
                else:
                    elsewhere = elsewhere or mine
        if here is None and elsewhere is not None:
            self.evidence.append(
                _("{address} is your {coin} deposit address on {network}, not on {chain}.").format(
                    address=elsewhere.address,
                    coin=elsewhere.coin,
                    network=elsewhere.network,
                    chain=self._label(),
                )
            )
            return self._result(
                Verdict.WRONG_NETWORK,
                _("Sent on {chain} to your {network} address: the wrong network.").format(
                    chain=self._label(), network=elsewhere.network
                ),
                _(
                    "Funds sent on the wrong network are not credited automatically. Open a ticket to "
                    "request a recovery; it is not always possible and may carry a fee."
                ),
            )
        if here is None:
            receivers = ", ".join(sorted({a for a, _v, _t in tx.recipients()})) or "?"
            self.evidence.append(
                _("{addresses}: not one of your deposit addresses.").format(addresses=receivers)
            )
            return self._result(
                Verdict.NOT_YOURS,
                _("Sent to an address that is not yours."),
                _(
                    "Compare the address it was sent to with the deposit address shown in the app. "
                    "If it went to someone else's address, only its owner can send it back."
                ),
            )
        self.evidence.append(
            _("{address} is your {coin} deposit address on {network}.").format(
                address=here.address, coin=here.coin, network=here.network
            )
        )
        if here.memo and record is None and not tx.pending:
            self.evidence.append(
                _(
                    "This address is shared and needs your memo (tag) {memo}; no deposit with this hash was matched to your account."
                ).format(memo=here.memo)
            )
            return self._result(
                Verdict.MEMO_MISSING,
                _("Memo missing: the deposit reached our shared address without your memo (tag)."),
                _(
                    "Open a ticket with the transaction hash and a screenshot of the transfer; the "
                    "assets team can match it to your account by hand."
                ),
            )
        if paused is not None:
            return self._paused("deposit", paused)
        required = required_confirmations(self.chain)
        if tx.pending or (tx.confirmations or 0) < required:
            return self._confirming()
        return self._result(
            Verdict.AWAITING_CREDIT,
            _("Confirmed on {chain} to your deposit address, not credited yet.").format(chain=self._label()),
            _(
                "It is usually credited within a few minutes of the last confirmation. If it has not "
                "arrived in 30 minutes, reply here or open a ticket with this hash."
            ),
        )

    def _confirming(self) -> Diagnosis:
        tx = self.tx
        assert tx is not None and self.chain is not None
        required = required_confirmations(self.chain)
        eta = self._eta_minutes()
        if tx.pending:
            message = _("Waiting to be included in a block on {chain}.").format(chain=self._label())
        else:
            message = _(
                "{confirmations}/{required} confirmations, expected in about {minutes} minutes."
            ).format(confirmations=tx.confirmations, required=required, minutes=eta)
        return self._result(
            Verdict.CONFIRMING,
            message,
            _("Nothing to do: it is credited automatically after {required} confirmations.").format(
                required=required
            ),
            eta=eta,
        )

    def _chain_only(self) -> Diagnosis:
        """Found on chain, but there are no records to compare it with."""
        tx = self.tx
        assert tx is not None and self.chain is not None
        if tx.pending or (tx.confirmations or 0) < required_confirmations(self.chain):
            return self._confirming()
        return self._result(
            Verdict.CONFIRMED,
            _("Confirmed on {chain} with {confirmations} confirmations.").format(
                chain=self._label(), confirmations=tx.confirmations
            ),
            _(
                "If it has not been credited, contact support with this hash so we can check it against your account."
            ),
        )

    def _deposit_without_hash(self) -> Diagnosis:
        open_deposits = [
            d for d in self.deposits if d.status != DepositState.CREDITED and self._matches(d.coin, d.network)
        ]
        if open_deposits:
            latest = open_deposits[0]
            self.evidence.append(
                _("Wallet record: deposit of {amount} {coin}, {status}.").format(
                    amount=_amount(latest.amount),
                    coin=latest.coin,
                    status=_deposit_status_label(latest.status),
                )
            )
            if latest.status == DepositState.HELD:
                return self._held("deposit")
            if latest.tx_hash:
                self.tx_hash = latest.tx_hash
                self.coin = self.coin or latest.coin
                self.network = self.network or latest.network
                self.chain = self._pick_chain()
                self.deposits = [latest]
                return self._deposit()
        return self._result(
            Verdict.NEEDS_TX_HASH,
            _("We need the transaction hash to check this."),
            _(
                "Copy the transaction hash (TxID) from the sending platform's withdrawal history and send it here."
            ),
        )

    def _matches(self, coin: str, network: str) -> bool:
        if self.coin and coin.upper() != self.coin:
            return False
        if self.network and chain_for_network(network) != chain_for_network(self.network):
            return network.lower() == self.network.lower()
        return True

    # --- withdrawals -----------------------------------------------------------------------

    def _withdrawal(self) -> Diagnosis:
        candidates: Sequence[WithdrawalRecord]
        if self.tx_hash:
            candidates = [w for w in self.withdrawals if same_hash(w.tx_hash, self.tx_hash)]
        else:
            matching = [w for w in self.withdrawals if self._matches(w.coin, w.network)]
            unfinished = [
                w
                for w in matching
                if w.status
                not in (WithdrawalState.COMPLETED, WithdrawalState.FAILED, WithdrawalState.CANCELLED)
            ]
            candidates = unfinished or matching
        record = candidates[0] if candidates else None
        if record is not None:
            self.evidence.append(
                _("Wallet record: withdrawal of {amount} {coin} to {address}, {status}.").format(
                    amount=_amount(record.amount),
                    coin=record.coin,
                    address=record.address,
                    status=_withdrawal_status_label(record.status),
                )
            )
            self.coin = self.coin or record.coin
            if not self.network:
                self.network = record.network
                self.chain = self.chain or self._pick_chain()
            if record.status == WithdrawalState.REVIEWING:
                return self._held("withdrawal")
            if record.status in (WithdrawalState.FAILED, WithdrawalState.CANCELLED):
                return self._result(
                    Verdict.WITHDRAWAL_FAILED,
                    _("This withdrawal did not go through."),
                    _(
                        "The amount, fee included, is back in your balance. Check the address and "
                        "network, then try again."
                    ),
                )
            if record.status in (WithdrawalState.SUBMITTED, WithdrawalState.PROCESSING) or not record.tx_hash:
                paused = _paused_by(_active_announcements(self.coin, self.network), "withdrawal")
                if paused is not None:
                    return self._paused("withdrawal", paused)
                return self._result(
                    Verdict.WITHDRAWAL_PENDING_INTERNAL,
                    _("Your withdrawal is being processed and has not been sent on chain yet."),
                    _(
                        "It is sent automatically; most withdrawals leave within 30 minutes. You get a "
                        "transaction hash once it is sent."
                    ),
                )
            self.tx_hash = self.tx_hash or record.tx_hash
        elif not self.tx_hash:
            return self._result(
                Verdict.NO_WITHDRAWAL,
                _("We found no matching withdrawal in your account."),
                _(
                    "Check that you are signed in to the account you withdrew from, or send the transaction hash."
                ),
            )
        elif self.records_ok:
            self.evidence.append(_("No withdrawal with this hash in your account."))
        decided = self._chain_prelude()
        if decided is not None:
            return decided
        if self.tx is None:
            return self._unavailable()
        if not self.tx.found:
            return self._result(
                Verdict.NOT_FOUND,
                _("Not found on {chain}: check the hash.").format(chain=self._label()),
                self._not_found_step(),
            )
        if self.tx.status == "failed":
            return self._reverted("withdrawal")
        required = required_confirmations(self.chain or "")
        if self.tx.pending or (self.tx.confirmations or 0) < required:
            if self.tx.pending:
                message = _(
                    "Your withdrawal was sent on {chain} and is waiting to be included in a block."
                ).format(chain=self._label())
            else:
                message = _(
                    "Your withdrawal was sent on {chain}: {confirmations}/{required} confirmations."
                ).format(chain=self._label(), confirmations=self.tx.confirmations, required=required)
            return self._result(
                Verdict.WITHDRAWAL_BROADCAST,
                message,
                _("The receiving platform credits it once it has enough confirmations on their side."),
                eta=self._eta_minutes(),
            )
        return self._result(
            Verdict.WITHDRAWAL_COMPLETED,
            _("Your withdrawal is complete on {chain} ({confirmations} confirmations).").format(
                chain=self._label(), confirmations=self.tx.confirmations
            ),
            _("If the receiving platform has not credited it, send them this transaction hash."),
        )

    # --- shared verdicts -------------------------------------------------------------------

    def _held(self, kind: Kind) -> Diagnosis:
        message = (
            _("The deposit is on hold for a routine security review.")
            if kind == "deposit"
            else _("Withdrawal held for security review.")
        )
        return self._result(
            Verdict.HELD_FOR_REVIEW,
            message,
            _(
                "Nothing to do unless we contact you; reviews usually finish within 24 hours. Never "
                "share codes or passwords with anyone who offers to speed it up."
            ),
        )

    def _paused(self, kind: Kind, announcement: Any) -> Diagnosis:
        coin = self.coin or (get_spec(self.chain).native_coin if self.chain else "")
        self.evidence.append(_("Announcement: {title}").format(title=_title(announcement)))
        if kind == "deposit":
            return self._result(
                Verdict.DEPOSITS_PAUSED,
                _("Deposits of {coin} are paused (announcement).").format(coin=coin),
                _(
                    "Your deposit is safe and is credited after the maintenance; there is no need to send it again."
                ),
            )
        return self._result(
            Verdict.WITHDRAWALS_PAUSED,
            _("Withdrawals of {coin} are paused (announcement).").format(coin=coin),
            _("Your withdrawal is processed after the maintenance; there is no need to submit it again."),
        )

    def _reverted(self, kind: Kind) -> Diagnosis:
        return self._result(
            Verdict.REVERTED,
            _("Reverted on chain: funds not moved."),
            _(
                "Nothing reached your account. Ask the sender to send it again; the failed transaction's network fee is not refunded."
            )
            if kind == "deposit"
            else _("The amount is returned to your balance; you can submit the withdrawal again."),
        )

    def _invalid_hash(self) -> Diagnosis:
        return self._result(
            Verdict.INVALID_HASH,
            _("This does not look like a transaction hash."),
            _(
                "A transaction hash (TxID) is 64 characters of 0-9 and a-f; on EVM networks it "
                "starts with 0x. Copy it from the sending platform's transaction details."
            ),
        )

    def _unavailable(self) -> Diagnosis:
        return self._result(
            Verdict.CHAIN_UNAVAILABLE,
            _("We cannot check the {chain} network right now.").format(chain=self._label()),
            _("Please try again in a few minutes; this does not affect your funds."),
        )
