"""The bot's dialogue: understand, answer from articles, guide, and hand over to a human.

One call per customer message (``do_handle_message``). The dialogue state lives on the
conversation row, so any server process can continue any conversation.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu.accounts.models import User
from kefu.bot import flows, slots
from kefu.bot.intents import INTENT_LABELS, OUT_OF_SCOPE, SMALLTALK, URGENT_INTENTS
from kefu.bot.models import BotConversation, BotTurn, ConversationStatus, Sender
from kefu.trust import guard

MAX_TEXT = 2000
# Two intents closer than this (and neither confident) → ask which one the customer means.
CLARIFY_MARGIN = 0.12
CLARIFY_CEILING = 0.55
FAILURES_BEFORE_HANDOFF = 2
# Internal slot names → the names of the API's ``asking`` field (the dialogue format's).
PUBLIC_SLOT = {"tx_hash": "txid"}

_HUMAN = re.compile(
    r"转人工|人工客服|人工服务|找人工|真人|客服小姐姐|human|real person|live agent|talk to (an )?agent", re.I
)
_YES = re.compile(
    r"^\s*(是|是的|对|好|好的|可以了|解决了|已解决|有用|谢谢|感谢|yes|yep|yeah|solved|it worked|thanks?|thank you|ok)\b",
    re.I,
)
_NO = re.compile(r"^\s*(不|没|否|没有|还没|不行|没用|没解决|未解决|no|nope|not|didn'?t|still)\b", re.I)


@dataclass
class ArticleLink:
    slug: str
    title: str
    url: str


@dataclass
class BotReply:
    conversation_id: str
    text: str
    intent: str | None = None
    confidence: float | None = None
    quick_replies: list[str] = field(default_factory=list)
    articles: list[ArticleLink] = field(default_factory=list)
    handoff: dict[str, Any] | None = None
    secret_warning: str | None = None
    needs_sign_in: bool = False
    asking: str | None = None  # the slot this reply asks for (public name, see PUBLIC_SLOT)


def access_conversation(conversation_id: str | None, *, customer: User | None) -> BotConversation | None:
    """A customer's own conversation (or an anonymous one they hold the id of), else None."""
    if not conversation_id:
        return None
    try:
        public_id = uuid.UUID(str(conversation_id))
    except ValueError:  # not an id we ever issued
        return None
    conversation = BotConversation.objects.filter(public_id=public_id).first()
    if conversation is None:
        return None
    if conversation.customer_id is not None and (customer is None or conversation.customer_id != customer.pk):
        return None
    return conversation


def do_start_conversation(*, customer: User | None, language: str) -> BotConversation:
    """An empty conversation, for a channel that links it before the first answer (live chat)."""
    return BotConversation.objects.create(customer=customer, language=language, state={})


@dataclass
class Prepared:
    """The slow, side-effect-free part of answering a message, worked out before any lock.

    On SQLite a write transaction locks the whole database: guarding the text, loading or
    training the intent model (seconds, at start-up), predicting and searching articles inside
    it made every other writer — chat, tickets, the SMTP receiver — wait and then fail with
    "database is locked". The dialogue looks here first and computes only what it misses (a
    message of the same conversation changed its state meanwhile).
    """

    guards: dict[tuple[str, bool], guard.ScanResult] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)
    articles: dict[str, list] = field(default_factory=dict)


def prepare_message(conversation: BotConversation | None, *, text: str, language: str) -> Prepared:
    """Guard, predict and look up articles for ``text`` with no transaction open (see ``Prepared``)."""
    text = (text or "").strip()[:MAX_TEXT]
    prepared = Prepared()
    if conversation is not None:
        conversation = BotConversation.objects.filter(pk=conversation.pk).first() or conversation
    state = (conversation.state if conversation is not None else None) or {}
    language = (conversation.language if conversation is not None else "") or language
    asking_tx_hash = state.get("asking") == "tx_hash"
    # Wallet records and a chain lookup settle a bare 64-hex (guard.scan_field): slow, so here.
    facts = _hex_facts(conversation, text=text, asking_tx_hash=asking_tx_hash, state=state)
    with override(language):
        scanned = _scan(text, asking_tx_hash=asking_tx_hash, language=language, facts=facts)
        prepared.guards[(text, asking_tx_hash)] = scanned
        if text and not scanned.secret:
            prediction = _predict(scanned.redacted)
            prepared.predictions[scanned.redacted] = prediction
            if prediction.intent:
                prepared.articles[prediction.intent] = _related_articles(prediction.intent, language)
    return prepared


def do_handle_message(
    *,
    conversation: BotConversation | None,
    customer: User | None,
    text: str,
    language: str,
    prepared: Prepared | None = None,
) -> BotReply:
    """Answer one customer message; creates the conversation on the first one.

    Callers that hold a transaction already must pass ``prepared`` (``prepare_message``, called
    before their transaction), or the slow work runs under their lock.
    """
    text = (text or "").strip()[:MAX_TEXT]
    if prepared is None:
        prepared = prepare_message(conversation, text=text, language=language)
    with transaction.atomic():
        if conversation is None:
            conversation = do_start_conversation(customer=customer, language=language)
        else:
            conversation = BotConversation.objects.select_for_update().get(pk=conversation.pk)
            if conversation.customer_id is None and customer is not None:
                conversation.customer = customer  # signed in mid-conversation: adopt it
        with override(conversation.language or language):
            reply = _Dialogue(conversation, customer, prepared).handle(text)
        conversation.save()
    return reply


def do_resume_handoff(*, conversation: BotConversation, customer: User) -> BotReply | None:
    """A customer asked for a human while signed out, then signed in: hand off now.

    The bot asked them to sign in first and kept the request (``pending_handoff``); without this
    the request would wait for their next message, and the panel would still show "please sign
    in". None when nothing is pending (call it freely when a signed-in customer comes back).
    """
    with transaction.atomic():
        conversation = BotConversation.objects.select_for_update().get(pk=conversation.pk)
        if not (conversation.state or {}).get("pending_handoff"):
            return None
        if conversation.customer_id is None:
            conversation.customer = customer
        elif conversation.customer_id != customer.pk:
            return None
        with override(conversation.language):
            reply = _Dialogue(conversation, customer)._handoff(reason="requested")
        conversation.save()
    return reply


def _scan(
    text: str, *, asking_tx_hash: bool, language: str, facts: guard.HexFacts | None = None
) -> guard.ScanResult:
    # We just asked for a transaction hash: the answer is that field (guard.scan_field).
    # Without facts (under a lock) an unsettled bare 64-hex is hidden: the safe side.
    return guard.scan_field(
        text, field="tx_hash" if asking_tx_hash else "text", language=language, facts=facts
    )


def _hex_facts(
    conversation: BotConversation | None, *, text: str, asking_tx_hash: bool, state: dict[str, Any]
) -> guard.HexFacts | None:
    if not guard.hex_candidates(text):
        return None
    from kefu.tickets.actions import hex_facts_for

    slots = state.get("slots") or {}
    return hex_facts_for(
        customer=conversation.customer if conversation is not None else None,
        network=str(slots.get("network") or ""),
        tx_hash=text if asking_tx_hash else "",
        texts=() if asking_tx_hash else (text,),
    )


def _predict(text: str):
    from kefu.bot.engine import default_engine

    return default_engine().predict(text)


def _related_articles(intent: str, language: str) -> list:
    try:
        from kefu.helpcenter.search import related_articles_for_intent
    except ImportError:
        return []
    return list(related_articles_for_intent(intent, language=language, limit=3))


class _Dialogue:
    def __init__(
        self, conversation: BotConversation, customer: User | None, prepared: Prepared | None = None
    ) -> None:
        self.conversation = conversation
        self.customer = customer
        self.prepared = prepared or Prepared()
        self.state: dict[str, Any] = conversation.state or {}
        self.conversation.state = self.state

    # --- entry -------------------------------------------------------------------------

    def handle(self, text: str) -> BotReply:
        asking = self.state.get("asking")
        guarded = self._guard(text, asking_tx_hash=asking == "tx_hash")
        if not text:
            return self._say(_("Please type your question."), intent=None)
        if self.conversation.status == ConversationStatus.HANDED_OFF:
            reply = self._handed_off(guarded.redacted)
            if reply is not None:
                return reply
        if guarded.secret:
            # The same rule as tickets.actions.guard_texts: a bare 64-hex hidden only because
            # nothing could settle it (most are TRON/BTC txids) does not make a security case.
            if not guarded.unsettled_hex or guarded.leaked_key:
                self.state["secret_seen"] = True
            self._log_customer(guarded.redacted)
            if guarded.unsettled_hex and asking == "tx_hash":
                # Perhaps a hash nothing could check (e.g. TRON): the warning says why it was hidden;
                # the question stays open for the explorer link or the 0x form.
                reply = self._say(
                    _("Please send the transaction's block-explorer link instead, or skip this question."),
                    quick_replies=[_("I don't know"), _("Talk to a human")],
                )
                reply.secret_warning = guard.warning_for(guarded, language=self.conversation.language)
                return reply
            reply = self._say(
                _(
                    "I have hidden what looked like a seed phrase or private key from your message. "
                    "Please talk to our security team now; you can also talk to a human."
                ),
                quick_replies=[_("Talk to a human")],
            )
            reply.secret_warning = guard.warning_for(guarded, language=self.conversation.language)
            return reply
        clean = guarded.redacted

        if self.state.get("pending_handoff") and self.customer is not None:
            self._log_customer(clean)
            return self._handoff(reason="requested")
        if _HUMAN.search(clean):
            self._log_customer(clean, intent="contact_human", confidence=1.0)
            return self._handoff(reason="requested")
        if self.state.get("awaiting_feedback"):
            reply = self._feedback(clean)
            if reply is not None:
                return reply
        if asking:
            reply = self._continue_flow(clean, asking)
            if reply is not None:
                return reply
        if options := self.state.pop("clarify", None):
            chosen = self._match_option(clean, options)
            if chosen:
                self._log_customer(clean, intent=chosen, confidence=1.0)
                return self._respond_to_intent(chosen, clean)
        prediction = self._predict(clean)
        self._log_customer(clean, intent=prediction.intent, confidence=prediction.confidence)
        ranked = prediction.ranked
        if (
            prediction.intent != OUT_OF_SCOPE
            and len(ranked) >= 2
            and prediction.confidence < CLARIFY_CEILING
            and ranked[0][1] - ranked[1][1] < CLARIFY_MARGIN
            and not {ranked[0][0], ranked[1][0]} & SMALLTALK
        ):
            options = [ranked[0][0], ranked[1][0]]
            self.state["clarify"] = options
            return self._say(
                _("Just to be sure — which of these do you mean?"),
                intent=prediction.intent,
                confidence=prediction.confidence,
                quick_replies=[str(INTENT_LABELS[o]) for o in options] + [_("Talk to a human")],
            )
        return self._respond_to_intent(prediction.intent, clean, confidence=prediction.confidence)

    # --- intents -----------------------------------------------------------------------

    def _respond_to_intent(self, intent: str, text: str, confidence: float | None = None) -> BotReply:
        self.state["last_intent"] = (
            intent if intent not in SMALLTALK | {OUT_OF_SCOPE} else self.state.get("last_intent")
        )
        if intent == OUT_OF_SCOPE:
            return self._failure(
                _(
                    "Sorry, I can't help with that. I can answer questions about your account, deposits, "
                    "withdrawals, transactions and security — or you can talk to a human."
                ),
                intent=intent,
                confidence=confidence,
            )
        if intent == "greeting":
            return self._say(
                _("Hello! I'm the {brand} assistant. What can I help you with?").format(brand=self._brand()),
                intent=intent,
                confidence=confidence,
                quick_replies=[_("Deposit not credited"), _("Withdrawal is stuck"), _("Talk to a human")],
            )
        if intent == "thanks":
            return self._say(
                _("You're welcome! Anything else I can help with?"), intent=intent, confidence=confidence
            )
        if intent == "goodbye":
            self.state.clear()
            return self._say(_("Goodbye, and stay safe!"), intent=intent, confidence=confidence)
        if intent == "contact_human":
            return self._handoff(reason="requested")
        if intent in URGENT_INTENTS:
            self.state["slots"] = slots.extract(text, wanted=flows.URGENT_SLOTS)
            return self._handoff(reason="urgent", intent=intent)
        if intent in flows.FLOWS:
            self.state["flow"] = intent
            self.state["slots"] = self._extract(text, flows.FLOWS[intent], asking=None)
            return self._next_question(intent, confidence=confidence)
        return self._answer(intent, confidence=confidence)

    def _answer(self, intent: str, *, confidence: float | None = None, preface: str = "") -> BotReply:
        """Reply with the matching article's key steps and a link, then ask whether it helped."""
        articles = self._articles(intent)
        lines = [preface] if preface else []
        if intent == "maintenance_notice":
            lines.append(self._announcements_text())
        if articles:
            first = articles[0]
            lines.append(_("Here is what usually helps — “{title}”:").format(title=first.title))
            lines += [f"{i}. {step}" for i, step in enumerate(first.key_steps or [], start=1)]
        elif intent != "maintenance_notice":
            lines.append(
                _("I understand this is about: {topic}.").format(topic=INTENT_LABELS.get(intent, intent))
            )
        lines.append(_("Did this solve your problem?"))
        self.state["awaiting_feedback"] = intent
        return self._say(
            "\n".join(line for line in lines if line),
            intent=intent,
            confidence=confidence,
            quick_replies=[_("Yes, solved"), _("No, talk to a human")],
            articles=[self._link(a) for a in articles],
        )

    # --- guided flows ------------------------------------------------------------------

    def _extract(self, text: str, wanted: list[str], *, asking: str | None) -> dict[str, str]:
        found = slots.extract(text, wanted=[s for s in wanted if s in slots.EXTRACTORS], asking=asking)
        for slot in wanted:
            if slot not in slots.EXTRACTORS and (
                value := flows.extract_extra(slot, text, loose=slot == asking)
            ):
                found[slot] = value
        return found

    def _next_question(self, flow: str, *, confidence: float | None = None) -> BotReply:
        filled = self.state.setdefault("slots", {})
        skipped = set(self.state.get("skipped", []))
        for slot in flows.FLOWS[flow]:
            if slot not in filled and slot not in skipped:
                self.state["asking"] = slot
                intro = ""
                if len(filled) + len(skipped) == 0 and not self.state.get("flow_intro_done"):
                    self.state["flow_intro_done"] = True
                    intro = _("I'll help you check this. A few quick questions first.") + "\n"
                return self._say(
                    intro + flows.question_for(slot),
                    intent=flow,
                    confidence=confidence,
                    quick_replies=[_("I don't know"), _("Talk to a human")],
                )
        self.state.pop("asking", None)
        summary = "\n".join(f"· {flows.slot_label(k)}: {v}" for k, v in filled.items())
        preface = _("Thanks. Here is what I have:") + "\n" + summary if summary else ""
        diagnosis = self._diagnose(flow, filled)
        if diagnosis:
            preface = (preface + "\n" if preface else "") + diagnosis
        return self._answer(flow, confidence=confidence, preface=preface)

    def _continue_flow(self, text: str, asking: str) -> BotReply | None:
        flow = self.state.get("flow")
        if flow not in flows.FLOWS:
            self.state.pop("asking", None)
            return None
        self._log_customer(text, intent=flow)
        found = self._extract(text, flows.FLOWS[flow], asking=asking)
        self.state.setdefault("slots", {}).update(
            {k: v for k, v in found.items() if k not in self.state["slots"]}
        )
        if asking not in found:
            if slots.SKIP_WORDS.match(text) or text in (_("I don't know"),):
                self.state.setdefault("skipped", []).append(asking)
            elif not found:
                # Not an answer: maybe a new question. Leave the flow and treat it as one.
                prediction = self._predict(text)
                if prediction.intent not in (flow, OUT_OF_SCOPE) and prediction.confidence >= 0.5:
                    self._leave_flow()
                    return self._respond_to_intent(prediction.intent, text, confidence=prediction.confidence)
                return self._say(
                    _("Sorry, I didn't catch that.") + " " + flows.question_for(asking),
                    intent=flow,
                    quick_replies=[_("I don't know"), _("Talk to a human")],
                )
        return self._next_question(flow)

    def _leave_flow(self) -> None:
        for key in ("flow", "asking", "slots", "skipped", "flow_intro_done"):
            self.state.pop(key, None)

    def _diagnose(self, flow: str, filled: dict[str, str]) -> str:
        """A chain/records check where the wallet integration provides one."""
        if not filled.get("tx_hash") or self.customer is None:
            return ""
        try:
            from kefu.wallet.diagnosis import diagnose_for_bot
        except ImportError:
            return ""
        try:
            result = diagnose_for_bot(
                customer=self.customer,
                coin=filled.get("coin", ""),
                network=filled.get("network", ""),
                tx_hash=filled["tx_hash"],
                language=self.conversation.language,
                kind="withdrawal" if flow.startswith("withdrawal") else "deposit",
            )
        except Exception:  # a diagnosis must never break the conversation
            return ""
        self.state["diagnosis"] = getattr(result, "verdict", "")
        return "\n".join(part for part in (result.message, getattr(result, "next_step", "")) if part)

    # --- feedback, failures, clarifying ------------------------------------------------

    def _feedback(self, text: str) -> BotReply | None:
        intent = self.state.get("awaiting_feedback")
        if _YES.match(text) or text == _("Yes, solved"):
            self._log_customer(text, intent="thanks")
            self.state.pop("awaiting_feedback", None)
            self._leave_flow()
            self.state["failures"] = 0
            return self._say(_("Glad that helped! Anything else?"), intent="thanks")
        if _NO.match(text) or text == _("No, talk to a human"):
            self._log_customer(text, intent=intent)
            self.state.pop("awaiting_feedback", None)
            if text == _("No, talk to a human") or self.state.get("flow"):
                return self._handoff(reason="unsolved", intent=intent)
            return self._failure(
                _(
                    "Sorry that didn't help. Could you describe the problem in other words, or talk to a human?"
                ),
                intent=intent,
            )
        self.state.pop("awaiting_feedback", None)  # a new question instead of an answer
        return None

    def _failure(self, text: str, *, intent: str | None, confidence: float | None = None) -> BotReply:
        self.state["failures"] = self.state.get("failures", 0) + 1
        if self.state["failures"] >= FAILURES_BEFORE_HANDOFF:
            return self._handoff(reason="bot_failed", intent=self.state.get("last_intent"))
        return self._say(text, intent=intent, confidence=confidence, quick_replies=[_("Talk to a human")])

    def _match_option(self, text: str, options: list[str]) -> str | None:
        for option in options:
            if text.strip() == str(INTENT_LABELS[option]):
                return option
        return None

    # --- hand-off ----------------------------------------------------------------------

    def _handoff(self, *, reason: str, intent: str | None = None) -> BotReply:
        intent = intent or self.state.get("flow") or self.state.get("last_intent")
        if self.customer is None:
            self.state["pending_handoff"] = True
            reply = self._say(
                _("To connect you with an agent, please sign in first — your conversation will be kept."),
                intent=intent,
            )
            reply.needs_sign_in = True
            return reply
        from kefu.accounts import ratelimit
        from kefu.bot.handoff import do_handoff

        try:
            # Each hand-off files a ticket or opens a chat: the same allowance as the portal's
            # (a new bot conversation per message would otherwise file tickets unlimited).
            ratelimit.check_creation("ticket", user=self.customer, ip=None)
        except ratelimit.RateLimited as exc:
            return self._say(exc.message, intent=intent)
        result = do_handoff(
            conversation=self.conversation,
            customer=self.customer,
            intent=intent,
            slots=self.state.get("slots", {}),
            reason=reason,
            security=bool(self.state.get("secret_seen")),
        )
        self.conversation.ticket = result.ticket
        self.conversation.status = ConversationStatus.HANDED_OFF
        self.state.pop("pending_handoff", None)
        parts = []
        if intent in URGENT_INTENTS:
            assert result.ticket is not None  # urgent topics always get a case at once
            parts.append(
                _(
                    "This is urgent, so I have passed it to our security team right away (case {case}). "
                    "If your account may be stolen, freeze it now and change your password. "
                    "We will never ask for your seed phrase, private key or codes."
                ).format(case=result.ticket.case_number)
            )
        elif result.chat is None:
            assert result.ticket is not None
            parts.append(
                _(
                    "I have passed your conversation to our support team — you won't need to repeat anything. "
                    "Your case number is {case}. An agent will reply in your ticket."
                ).format(case=result.ticket.case_number)
            )
        else:
            parts.append(
                _("I have connected you to the queue for a human agent — you won't need to repeat anything.")
            )
        if result.chat is not None:
            parts.append(self._wait_text(result.wait))
            if not result.in_chat:
                parts.append(_("Open live chat to continue with the agent."))
        return self._say(" ".join(p for p in parts if p), intent=intent, handoff=result.payload())

    def _wait_text(self, wait: Any) -> str:
        if wait is None:
            return ""
        if wait.agent_free:
            return _("An agent will join the chat in a moment.")
        if wait.eta_seconds is not None:
            return _("You are number {n} in the queue; the estimated wait is about {m} min.").format(
                n=wait.position, m=max(1, math.ceil(wait.eta_seconds / 60))
            )
        return _("You are number {n} in the queue.").format(n=wait.position)

    def _handed_off(self, text: str) -> BotReply | None:
        """A message after the hand-off: point to where it went; None once that chat has ended."""
        from kefu.bot.handoff import current_handoff

        current = current_handoff(self.conversation)
        if current is None:
            # The chat ended (and filed its transcript as the chat app does): the bot takes
            # the conversation back, and a new request for a human opens a new chat.
            self.conversation.status = ConversationStatus.BOT
            return None
        self._log_customer(text)
        if current.chat is not None:
            reply = _("You are in live chat with our support team now. Please continue there.")
        else:
            assert current.ticket is not None
            reply = _(
                "Your request is with our support team (case {case}). An agent will reply there."
            ).format(case=current.ticket.case_number)
        return self._say(reply, handoff=current.payload())

    # --- helpers -----------------------------------------------------------------------

    def _guard(self, text: str, *, asking_tx_hash: bool) -> guard.ScanResult:
        found = self.prepared.guards.get((text, asking_tx_hash))
        if found is None:
            found = _scan(text, asking_tx_hash=asking_tx_hash, language=self.conversation.language)
        return found

    def _predict(self, text: str):
        found = self.prepared.predictions.get(text)
        return found if found is not None else _predict(text)

    def _articles(self, intent: str) -> list:
        found = self.prepared.articles.get(intent)
        return list(found) if found is not None else _related_articles(intent, self.conversation.language)

    def _link(self, article) -> ArticleLink:
        return ArticleLink(
            slug=article.slug, title=article.title, url=reverse("helpcenter:article", args=[article.slug])
        )

    def _announcements_text(self) -> str:
        try:
            from kefu.helpcenter.selectors import active_announcements
        except ImportError:
            return ""
        items = list(active_announcements())
        if not items:
            return _("There is no maintenance or incident announced right now.")
        english = self.conversation.language.startswith("en")
        lines = [_("Current announcements:")]
        for item in items[:5]:
            lines.append("· " + (item.title_en if english else item.title_zh))
        return "\n".join(lines)

    def _brand(self) -> str:
        from django.conf import settings

        return settings.KEFU_BRAND_NAME

    def _log_customer(self, text: str, *, intent: str | None = None, confidence: float | None = None) -> None:
        BotTurn.objects.create(
            conversation=self.conversation,
            sender=Sender.CUSTOMER,
            text=text,
            intent=intent or "",
            confidence=confidence,
        )

    def _say(
        self,
        text: str,
        *,
        intent: str | None = None,
        confidence: float | None = None,
        quick_replies: list[str] | None = None,
        articles: list[ArticleLink] | None = None,
        handoff: dict[str, Any] | None = None,
    ) -> BotReply:
        BotTurn.objects.create(
            conversation=self.conversation, sender=Sender.BOT, text=text, intent=intent or ""
        )
        asking = self.state.get("asking") if handoff is None else None
        return BotReply(
            conversation_id=str(self.conversation.public_id),
            text=text,
            intent=intent,
            confidence=confidence,
            quick_replies=[str(q) for q in quick_replies or []],
            articles=articles or [],
            handoff=handoff,
            asking=PUBLIC_SLOT.get(asking, asking) if asking else None,
        )


def parse_amount(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None
