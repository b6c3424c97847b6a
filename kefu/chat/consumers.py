"""WebSocket consumers: the customer widget and the agent workspace (protocol: docs/chat-protocol.md).

Consumers only translate: JSON frames in, actions and selectors (in the database thread),
JSON frames out. Group events from the channel layer arrive as ``chat.*`` messages and are
forwarded to the browser, filtered for who is connected (customers never see internal notes).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _

from kefu import inputs
from kefu.accounts import ratelimit
from kefu.accounts.models import Team, User
from kefu.chat import actions, events, selectors, writer
from kefu.chat.dbcall import db
from kefu.chat.models import ChatConversation, ChatStatus, CloseReason
from kefu.clientip import client_ip_from_scope
from kefu.csat import actions as csat_actions
from kefu.csat import selectors as csat_selectors
from kefu.identity.middleware import staff_session_ok, touch_staff_session

logger = logging.getLogger(__name__)


QUEUE_DEBOUNCE = 0.5  # seconds: a burst of queue changes becomes one position update
QUEUE_REFRESH = 20.0  # seconds: the estimate is re-sent while waiting, even without changes
STAFF_DEBOUNCE = 1.0
RECONCILE_EVERY = 10.0  # seconds: an agent's chats are re-read, in case an event was lost
DASHBOARD_REFRESH = 5.0
HEARTBEAT_WRITE = 30.0  # seconds between "still here" writes for one connection
TYPING_MIN_INTERVAL = 1.0
# Frames read off a socket ahead of its handlers. A client sends a few frames at a time; past
# this many unhandled ones the socket is left unread again (backpressure to a flooding client).
FRAME_BUFFER = 64


class TokenBucket:
    """Per-connection rate limit: ``rate`` messages per ``per`` seconds, bursts up to ``rate``."""

    def __init__(self, rate: int, per: float) -> None:
        self.capacity = float(rate)
        self.tokens = float(rate)
        self.fill = rate / per
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.fill)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class _ReceivePump:
    """Reads a connection's events as they arrive, ahead of the consumer's handlers.

    The ASGI server reads a WebSocket's next frame only once the application asks for the
    previous one (uvicorn pauses reading the socket after each message), and Channels asks only
    after the handler of the last frame has finished. While a handler waited for a busy
    database — a thousand customers asking for a human within a minute — the socket went
    unread, so the keepalive pings of both ends went unanswered and each end closed the
    connection after 20 s (``1011 keepalive ping timeout``). Here a task keeps asking: the
    server keeps reading (and answering pings), the frames wait in order in a bounded buffer,
    and the consumer still handles them one at a time, as before.
    """

    def __init__(self, receive: Any, limit: int = FRAME_BUFFER) -> None:
        self._receive = receive
        self._buffer: asyncio.Queue[Any] = asyncio.Queue(maxsize=limit)
        self._task: asyncio.Task[None] | None = None

    async def receive(self) -> dict[str, Any]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._pump())
        item = await self._buffer.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def _pump(self) -> None:
        while True:
            try:
                message = await self._receive()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # handed to the consumer, which fails as it did before
                await self._buffer.put(exc)
                return
            # Full: wait (and stop reading the socket) until the handlers catch up.
            await self._buffer.put(message)
            if message.get("type") == "websocket.disconnect":
                return

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


class _QueueBoard:
    """Each team's queue (positions and estimates), shared by the waiting customers of this process.

    Every change to a queue reaches every waiting customer; each asking the database for their
    own position would make a burst of changes cost customers × changes queries. Here the first
    one to ask reads the whole queue (one query) and the others, within half a second, share it.
    """

    MAX_AGE = 0.5

    def __init__(self) -> None:
        self.snapshots: dict[int | None, tuple[float, dict[int, selectors.QueueInfo]]] = {}
        self.reading: dict[int | None, asyncio.Future[dict[int, selectors.QueueInfo]]] = {}

    def clear(self) -> None:
        self.snapshots.clear()

    async def queue(self, team_id: int | None) -> dict[int, selectors.QueueInfo]:
        snapshot = self.snapshots.get(team_id)
        if snapshot is not None and time.monotonic() - snapshot[0] < self.MAX_AGE:
            return snapshot[1]
        reading = self.reading.get(team_id)
        if reading is not None and reading.get_loop() is asyncio.get_running_loop():
            return await asyncio.shield(reading)
        future: asyncio.Future[dict[int, selectors.QueueInfo]] = asyncio.get_running_loop().create_future()
        self.reading[team_id] = future
        try:
            positions = await db(selectors.queue_snapshot)(team_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self.reading.pop(team_id, None)
        self.snapshots[team_id] = (time.monotonic(), positions)
        future.set_result(positions)
        return positions


queue_board = _QueueBoard()


def _errors(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def _user(scope: dict[str, Any]) -> User | None:
    user = scope.get("user")
    return user if user is not None and user.is_authenticated and user.is_active else None


# Message numbers are small; a larger one (or 1e400, or text) from a client means "from the start"
# or "nothing newer", never an overflow in the database.
MAX_SEQ = 2**53


def _seq(value: Any, default: Any = 0) -> Any:
    """A count from a frame: a non-negative integer, clamped to ``MAX_SEQ``; else ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if not isinstance(value, int):
        return default
    return min(max(value, 0), MAX_SEQ)


def _language(value: Any) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    if isinstance(value, str):
        value = value.lower()
        if value in codes:
            return value
        if value.startswith("zh"):
            return "zh-hans"
        if value.startswith("en") and "en" in codes:
            return "en"
    return settings.LANGUAGE_CODE


class _ChatConsumer(AsyncJsonWebsocketConsumer):
    """Common plumbing: JSON errors, typed handlers, background tasks that end with the socket."""

    handlers: dict[str, str] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        pump = _ReceivePump(receive)
        try:
            await super().__call__(scope, pump.receive, send)
        finally:
            pump.close()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch first closes old database connections, a round trip to the database
        # thread for every frame and every group event. Every database access here goes through
        # ``db``, which does that inside the thread, so the extra hop is skipped.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        events.bind_event_loop()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.groups_joined: set[str] = set()
        await super().websocket_connect(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        with translation.override(self.ui_language()):
            try:
                # NUL stripped, depth and numbers bounded, lone surrogates refused: as for the API.
                content = inputs.loads(text_data or "")
            except inputs.BadInput as exc:
                await self.send_error("bad_json", exc.message)
                return
            if not isinstance(content, dict):
                await self.send_error("bad_json", _("Frames must be JSON objects."))
                return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        kind = content.get("type")
        name = self.handlers.get(kind) if isinstance(kind, str) else None
        if name is None:
            await self.send_error("unknown_type", f"Unknown frame type: {kind!r}")
            return
        try:
            # Validation messages in the reader's language (the override reaches the database
            # thread: Django keeps the active language in a context variable).
            with translation.override(self.ui_language()):
                await getattr(self, name)(content)
        except ValidationError as exc:
            await self.send_error("invalid", " ".join(_errors(exc)), client_id=content.get("client_id"))
        except PermissionDenied:
            with translation.override(self.ui_language()):
                detail = _("Not allowed.")
            await self.send_error("forbidden", detail, client_id=content.get("client_id"))
        except Http404:
            with translation.override(self.ui_language()):
                detail = _("No such chat.")
            await self.send_error("not_found", detail, client_id=content.get("client_id"))
        except (TypeError, ValueError, OverflowError):
            # A value of the wrong shape that a handler did not check: an error frame for the
            # client and the traceback in the log, but the socket (and its other chats) stays.
            logger.exception("chat frame %r could not be handled", kind)
            with translation.override(self.ui_language()):
                detail = _("Invalid input.")
            await self.send_error("invalid", detail, client_id=content.get("client_id"))

    def ui_language(self) -> str:
        return settings.LANGUAGE_CODE

    async def send_error(self, code: str, detail: str, **extra: Any) -> None:
        await self.send_json(
            {"type": "error", "code": code, "detail": detail, **{k: v for k, v in extra.items() if v}}
        )

    async def join(self, group: str) -> None:
        if group not in self.groups_joined:
            self.groups_joined.add(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def leave(self, group: str) -> None:
        if group in self.groups_joined:
            self.groups_joined.discard(group)
            await self.channel_layer.group_discard(group, self.channel_name)

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def leave_all(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for group in list(self.groups_joined):
            await self.leave(group)


# --- the customer widget -----------------------------------------------------------------------


class CustomerChatConsumer(_ChatConsumer):
    """``/ws/chat/``: one customer (signed in or anonymous) and their current conversation."""

    handlers = {
        "hello": "on_hello",
        "message": "on_message",
        "typing": "on_typing",
        "read": "on_read",
        "sync": "on_sync",
        "choose": "on_choose",
        "close": "on_close",
        "rate": "on_rate",
        "ping": "on_ping",
    }

    async def connect(self) -> None:
        self.user = _user(self.scope)
        self.conversation: ChatConversation | None = None
        self.last_seq = 0  # every message number up to here has been forwarded (or was a note)
        self.status = ""
        self.team_id: int | None = None
        self.tier = 1
        self.language = settings.LANGUAGE_CODE
        self.greeted = False
        rate, per = settings.KEFU_BOT_RATE
        self.bucket = TokenBucket(rate, per)
        self.queue_refresh: asyncio.Task[Any] | None = None
        self.queue_ticker: asyncio.Task[Any] | None = None
        self.last_queue: dict[str, Any] | None = None
        self.last_heartbeat = 0.0
        self.last_typing = 0.0
        await self.accept()

    def ui_language(self) -> str:
        return self.language

    async def disconnect(self, code: int) -> None:
        await self.leave_all()
        if self.conversation is not None:
            await db(actions.do_customer_disconnected)(conversation=self.conversation)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        if not self.greeted and content.get("type") not in ("hello", "ping"):
            await self.send_error("hello_first", "Send hello first.")
            return
        await super().receive_json(content, **kwargs)

    # --- frames from the browser ---

    async def on_hello(self, content: dict[str, Any]) -> None:
        self.language = _language(content.get("language"))
        self.greeted = True
        conversation = None
        if content.get("conversation_id"):
            conversation = await db(selectors.access_customer_conversation)(
                public_id=content.get("conversation_id"),
                customer=self.user,
                resume_key=content.get("resume_key"),
            )
            if conversation is not None and conversation.customer_id is None and self.user is not None:
                conversation = await db(actions.do_adopt_conversation)(
                    conversation=conversation, customer=self.user
                )
        asked = conversation.pk if conversation is not None else None
        if self.user is not None:
            conversation = await db(self._resume_signed_in)(conversation)
        after = _seq(content.get("last_seq"))
        if conversation is not None and conversation.pk != asked:
            after = 0  # another conversation than the browser asked for: all of its history
        if conversation is not None and (
            conversation.status != ChatStatus.CLOSED or after < await db(selectors.last_seq)(conversation)
        ):
            await self.attach(conversation)
            welcome = await db(self._welcome_with)(conversation, after)
        else:
            welcome = await db(self._welcome_without)()
        await self.send_json(welcome)
        if self.status == ChatStatus.QUEUED:
            self.start_queue_updates()

    def _resume_signed_in(self, conversation: ChatConversation | None) -> ChatConversation | None:
        """A signed-in customer's conversation: a hand-off that waited for the sign-in goes ahead
        now, and their open chat with a human (started in another tab or on another device) wins
        over a conversation with the bot or one that has ended."""
        assert self.user is not None
        if conversation is not None:
            if actions.do_resume_pending_handoff(conversation=conversation, customer=self.user) is not None:
                conversation = ChatConversation.objects.get(pk=conversation.pk)
            if conversation.status in (ChatStatus.QUEUED, ChatStatus.ACTIVE):
                return conversation
        return selectors.open_chat_of(self.user) or conversation

    def _conversation_payload(self, conversation: ChatConversation) -> dict[str, Any]:
        return {
            "id": conversation.public_id.hex,
            "resume_key": conversation.resume_key,
            "last_seq": selectors.last_seq(conversation, fresh=False),
            "agent_read_seq": conversation.agent_read_seq,
            **selectors.status_payload(conversation),
        }

    def _welcome_with(self, conversation: ChatConversation, after: int) -> dict[str, Any]:
        # The number first, then the messages: whatever commits in between is in the history,
        # and everything later arrives as an event with a higher number.
        conversation = ChatConversation.objects.select_related("team", "assignee", "ticket").get(
            pk=conversation.pk
        )
        messages, truncated = selectors.history(conversation, after=after)
        self.last_seq = max([selectors.last_seq(conversation, fresh=False), *(m["seq"] for m in messages)])
        info = selectors.queue_info(conversation)
        self.last_queue = selectors.queue_payload(info, self.language)
        return {
            "type": "welcome",
            "conversation": self._conversation_payload(conversation),
            "history": messages,
            "truncated": truncated,
            "queue": self.last_queue,
            "hours": selectors.hours_payload(selectors.hours_status(conversation.team_id), self.language),
            "signed_in": self.user is not None,
        }

    def _welcome_without(self) -> dict[str, Any]:
        return {
            "type": "welcome",
            "conversation": None,
            "history": [],
            "truncated": False,
            "queue": None,
            "hours": selectors.hours_payload(selectors.hours_status(None), self.language),
            "signed_in": self.user is not None,
        }

    async def attach(self, conversation: ChatConversation) -> None:
        if self.conversation is not None and self.conversation.pk != conversation.pk:
            await self.leave(events.conversation_group(self.conversation.public_id))
            await self.leave(events.queue_group(self.team_id))
            await db(actions.do_customer_disconnected)(conversation=self.conversation)
        self.conversation = conversation
        self.status = conversation.status
        self.team_id = conversation.team_id
        self.tier = conversation.tier
        # Join before reading history: a message sent in between arrives twice (and is
        # dropped by its number), never zero times.
        await self.join(events.conversation_group(conversation.public_id))
        if self.status == ChatStatus.QUEUED:
            await self.join(events.queue_group(self.team_id))
        await db(actions.do_customer_connected)(conversation=conversation)

    async def on_message(self, content: dict[str, Any]) -> None:
        client_id = content.get("client_id")
        if not self.bucket.take():
            await self.send_error(
                "rate_limited",
                _("You are sending messages too quickly. Please wait a moment."),
                client_id=client_id,
            )
            return
        starting = self.conversation is None or self.status == ChatStatus.CLOSED
        try:
            # Per customer and per client IP across all their sockets (the bucket is per socket).
            ip = client_ip_from_scope(self.scope)
            if starting:
                await db(ratelimit.check_creation)("chat", user=self.user, ip=ip)
            await db(ratelimit.check_creation)("chat-message", user=self.user, ip=ip)
        except ratelimit.RateLimited as exc:
            await self.send_error("rate_limited", exc.message, client_id=client_id)
            return
        if starting:
            conversation = await db(actions.do_start_conversation)(customer=self.user, language=self.language)
            await self.attach(conversation)
            self.last_seq = 0
            await self.send_json(
                {"type": "conversation", "conversation": await db(self._conversation_payload)(conversation)}
            )
        assert self.conversation is not None
        post = await writer.post_customer_message(
            conversation=self.conversation,
            customer=self.user,
            client_id=client_id,
            text=content.get("text"),
            origin=self.channel_name,
        )
        ack: dict[str, Any] = {
            "type": "ack",
            "client_id": post.message.client_id,
            "seq": post.message.seq,
            "conversation_id": self.conversation.public_id.hex,
            "duplicate": post.duplicate,
        }
        if post.secret_warning:
            ack["secret_warning"] = post.secret_warning
            ack["text"] = post.message.body  # as stored: the secret hidden
        await self.send_json(ack)

    async def on_typing(self, content: dict[str, Any]) -> None:
        now = time.monotonic()
        if self.conversation is None or self.status not in (ChatStatus.QUEUED, ChatStatus.ACTIVE):
            return
        active = bool(content.get("active"))
        if active and now - self.last_typing < TYPING_MIN_INTERVAL:
            return
        self.last_typing = now if active else 0.0
        events.publish(
            events.conversation_group(self.conversation.public_id),
            {
                "type": "chat.typing",
                "conversation": self.conversation.public_id.hex,
                "sender": "customer",
                "active": active,
                "origin": self.channel_name,
            },
        )

    async def on_read(self, content: dict[str, Any]) -> None:
        if self.conversation is not None:
            await db(actions.do_mark_read)(
                conversation=self.conversation, by_customer=True, seq=_seq(content.get("seq"))
            )

    async def on_sync(self, content: dict[str, Any]) -> None:
        if self.conversation is None:
            return
        after = _seq(content.get("after"))
        messages, truncated = await db(selectors.history)(self.conversation, after=after)
        await self.send_json(
            {
                "type": "history",
                "conversation_id": self.conversation.public_id.hex,
                "messages": messages,
                "truncated": truncated,
            }
        )

    async def on_choose(self, content: dict[str, Any]) -> None:
        if self.conversation is None or self.user is None:
            raise PermissionDenied
        choice = await db(actions.check_customer_choice)(
            conversation=self.conversation,
            customer=self.user,
            choice=str(content.get("choice") or ""),
            phone=str(content.get("phone") or ""),
        )
        await self.send_json(
            {"type": "chosen", "choice": content.get("choice"), "case_number": choice.case_number}
        )

    async def on_close(self, content: dict[str, Any]) -> None:
        if self.conversation is None:
            return
        if self.conversation.customer_id is not None and (
            self.user is None or self.user.pk != self.conversation.customer_id
        ):
            raise PermissionDenied
        await db(actions.check_customer_close)(conversation=self.conversation, customer=self.user)

    async def on_rate(self, content: dict[str, Any]) -> None:
        survey = await db(csat_selectors.access_survey)(str(content.get("token") or ""))
        if survey is None or self.user is None or survey.customer_id != self.user.pk:
            raise PermissionDenied
        await db(csat_actions.check_answer_survey)(
            survey=survey, rating=content.get("rating"), comment=str(content.get("comment") or "")
        )
        await self.send_json({"type": "rated", "rating": survey.rating})

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})
        now = time.monotonic()
        if (
            self.conversation is not None
            and self.status == ChatStatus.QUEUED
            and now - self.last_heartbeat > HEARTBEAT_WRITE
        ):
            self.last_heartbeat = now
            await db(actions.do_customer_heartbeat)(conversation=self.conversation)

    # --- the queue ---

    def start_queue_updates(self) -> None:
        if self.queue_ticker is None or self.queue_ticker.done():
            self.queue_ticker = self.spawn(self._queue_ticker())

    async def _queue_ticker(self) -> None:
        while self.status == ChatStatus.QUEUED:
            await asyncio.sleep(QUEUE_REFRESH)
            await self.send_queue()

    def schedule_queue_update(self, delay: float = QUEUE_DEBOUNCE) -> None:
        if self.queue_refresh is None or self.queue_refresh.done():
            self.queue_refresh = self.spawn(self._queue_update_after(delay))

    async def _queue_update_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.send_queue()

    async def send_queue(self, *, force: bool = False) -> None:
        if self.conversation is None or self.status != ChatStatus.QUEUED:
            return
        info = (await queue_board.queue(self.team_id)).get(self.conversation.pk)
        if info is None:
            return  # left the queue; a status event follows
        payload = selectors.queue_payload(info, self.language)
        if payload is None or (payload == self.last_queue and not force):
            return
        self.last_queue = payload
        await self.send_json({"type": "queue", **payload})

    # --- group events ---

    async def chat_message(self, event: dict[str, Any]) -> None:
        if self.conversation is None or event["conversation"] != self.conversation.public_id.hex:
            return
        message = event["message"]
        seq = message["seq"]
        if seq <= self.last_seq:
            return  # already in the history sent at hello, or a repeat
        if seq > self.last_seq + 1:
            # A number was skipped: its event was lost (a full channel drops events) or is late.
            # The database has everything up to this one; send what the customer has not seen.
            missing, _truncated = await db(selectors.history)(self.conversation, after=self.last_seq)
            for item in missing:
                if item["seq"] <= seq:
                    await self.send_message(event["conversation"], item)
            self.last_seq = seq
            return
        self.last_seq = seq
        if message.get("internal") or event.get("origin") == self.channel_name:
            return  # notes stay with staff; the sender has its acknowledgement
        await self.send_message(event["conversation"], message)

    async def send_message(self, conversation_id: str, message: dict[str, Any]) -> None:
        await self.send_json({"type": "message", "conversation_id": conversation_id, "message": message})

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event.get("sender") != "customer":
            await self.send_json({"type": "typing", "sender": event["sender"], "active": event["active"]})

    async def chat_read(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "read", "by": event["by"], "seq": event["seq"]})

    async def chat_status(self, event: dict[str, Any]) -> None:
        previous = self.status
        self.status = event["status"]
        self.tier = event.get("tier", self.tier)
        payload = {k: v for k, v in event.items() if k not in ("type", "conversation", "team_id")}
        if self.conversation is not None:
            self.conversation.status = self.status
        await self.send_json({"type": "status", "conversation_id": event["conversation"], **payload})
        if self.status == ChatStatus.QUEUED:
            team_id = await db(self._current_team)()
            if team_id != self.team_id:
                await self.leave(events.queue_group(self.team_id))
                self.team_id = team_id
            await self.join(events.queue_group(self.team_id))
            self.last_queue = None
            await self.send_queue(force=True)
            self.start_queue_updates()
        elif previous == ChatStatus.QUEUED:
            await self.leave(events.queue_group(self.team_id))

    def _current_team(self) -> int | None:
        assert self.conversation is not None
        return (
            ChatConversation.objects.filter(pk=self.conversation.pk).values_list("team_id", flat=True).first()
        )

    async def chat_queue_changed(self, event: dict[str, Any]) -> None:
        if self.status == ChatStatus.QUEUED:
            self.schedule_queue_update()

    async def chat_assigned(self, event: dict[str, Any]) -> None:  # staff-only events; never sent here
        return

    chat_unassigned = chat_presence = chat_assigned


# --- the agent workspace -----------------------------------------------------------------------


class AgentChatConsumer(_ChatConsumer):
    """``/ws/chat/agent/``: an agent's chats, the queue, presence; supervisors also the dashboard."""

    handlers = {
        "hello": "on_hello",
        "status": "on_status",
        "message": "on_message",
        "typing": "on_typing",
        "read": "on_read",
        "accept": "on_accept",
        "open": "on_open",
        "context": "on_context",
        "transfer": "on_transfer",
        "escalate": "on_escalate",
        "convert": "on_convert",
        "close": "on_close",
        "dashboard": "on_dashboard",
        "reassign": "on_reassign",
        "ping": "on_ping",
    }

    async def connect(self) -> None:
        user = _user(self.scope)
        self.agent: User | None = user if user is not None and user.is_agent else None
        self.seqs: dict[str, int] = {}  # per chat: every number up to here has been forwarded
        if self.agent is None or user is None:
            await self.accept()
            await self.close(code=4403)
            return
        session = self.scope.get("session")
        if session is None or not await db(staff_session_ok)(user, session):
            # No second factor yet, or signed out for idleness: the console reloads to sign in.
            await self.accept()
            await self.close(code=4401)
            return
        self.last_touch = 0.0
        self.chats: dict[str, ChatConversation] = {}
        self.dashboard = False
        self.dashboard_language: str | None = None
        self.staff_refresh: asyncio.Task[Any] | None = None
        self.presence_refresh: asyncio.Task[Any] | None = None
        self.dashboard_task: asyncio.Task[Any] | None = None
        self.last_heartbeat = time.monotonic()
        self.last_typing: dict[str, float] = {}
        await self.accept()
        await self.join(events.agent_group(user.pk))
        await self.join(events.STAFF_GROUP)
        await db(actions.do_agent_connected)(agent=user)

    async def disconnect(self, code: int) -> None:
        agent = getattr(self, "agent", None)
        if agent is None:
            return
        await self.leave_all()
        await db(actions.do_agent_disconnected)(agent=agent)

    def _me(self) -> User:
        assert self.agent is not None
        return self.agent

    def ui_language(self) -> str:
        return _language(self.agent.language if self.agent else None)

    # --- access ---

    async def conversation(self, content: dict[str, Any]) -> ChatConversation:
        cid = str(content.get("conversation_id") or "")
        if cid in self.chats:
            return self.chats[cid]
        conversation = await db(selectors.access_staff_conversation)(self._me(), cid)
        if conversation is None:
            # Not "forbidden": that would confirm that the chat exists.
            raise Http404
        return conversation

    async def follow(self, conversation: ChatConversation) -> None:
        self.chats[conversation.public_id.hex] = conversation
        await self.join(events.conversation_group(conversation.public_id))

    async def unfollow(self, conversation_id: str) -> None:
        self.seqs.pop(conversation_id, None)
        conversation = self.chats.pop(conversation_id, None)
        if conversation is not None:
            await self.leave(events.conversation_group(conversation.public_id))

    def _chat_payload(self, conversation: ChatConversation, after: int = 0) -> dict[str, Any]:
        # Call after joining the chat's group; the number is read before the messages (see the
        # customer's welcome).
        conversation = ChatConversation.objects.select_related("team", "customer", "assignee", "ticket").get(
            pk=conversation.pk
        )
        messages, truncated = selectors.history(conversation, after=after, staff=True)
        cid = conversation.public_id.hex
        self.seqs[cid] = max(
            [self.seqs.get(cid, 0), selectors.last_seq(conversation, fresh=False), *(m["seq"] for m in messages)]
        )
        if cid in self.chats:
            self.chats[cid].status = conversation.status
        summary = selectors.conversation_summary(conversation, language=self.ui_language())
        return {**summary, "history": messages, "truncated": truncated}

    # --- frames from the browser ---

    async def on_hello(self, content: dict[str, Any]) -> None:
        last_seqs = content.get("last_seqs")
        seen: dict[str, Any] = last_seqs if isinstance(last_seqs, dict) else {}
        chats = await db(selectors.active_chats_for)(self._me())
        for conversation in chats:
            await self.follow(conversation)
        await self.send_json(await db(self._welcome)(chats, seen))
        if not any(not t.done() and t.get_name() == "reconcile" for t in self.tasks):
            self.spawn(self._reconcile()).set_name("reconcile")

    async def _reconcile(self) -> None:
        """Every few seconds, make the followed chats match the database.

        Events can be lost (a channel layer drops them when a connection falls behind); a lost
        "assigned" would leave a chat that nobody answers. This is the safety net.
        """
        while True:
            await asyncio.sleep(RECONCILE_EVERY)
            # Ids first (one narrow indexed query); whole rows only for a chat this socket missed.
            ids = await db(selectors.active_chat_ids_for)(self._me())
            if all(public_id.hex in self.chats for public_id in ids):
                continue
            mine = await db(selectors.active_chats_for)(self._me())
            for conversation in mine:
                cid = conversation.public_id.hex
                if cid not in self.chats:
                    await self.follow(conversation)
                    await self.send_json(
                        {"type": "assigned", "chat": await db(self._chat_payload)(conversation)}
                    )

    def _welcome(self, chats: list[ChatConversation], seen: dict[str, Any]) -> dict[str, Any]:
        me = self._me()

        def after(conversation: ChatConversation) -> int:
            return int(_seq(seen.get(conversation.public_id.hex)))

        from kefu.chat.models import AgentPresence

        presence = AgentPresence.objects.filter(user=me).first()
        return {
            "type": "welcome",
            "me": {
                "id": str(me.public_id),
                "name": me.display_name or me.email,
                "supervisor": me.is_supervisor,
            },
            "presence": selectors.presence_payload(presence),
            "chats": [self._chat_payload(c, after(c)) for c in chats],
            "queue": selectors.staff_queue(me, language=self.ui_language()),
            "targets": selectors.transfer_targets(me),
        }

    async def touch_session(self) -> None:
        """Answering customers over the socket is activity for the staff idle time-out."""
        now = time.monotonic()
        if now - self.last_touch > 60 and self.scope.get("session") is not None:
            self.last_touch = now
            await db(touch_staff_session)(self.scope["session"])

    async def on_status(self, content: dict[str, Any]) -> None:
        capacity = content.get("capacity")
        presence = await db(actions.do_set_presence)(
            agent=self._me(),
            status=content.get("status"),
            capacity=_seq(capacity, None),
            languages=content.get("languages") if isinstance(content.get("languages"), str) else None,
        )
        await self.send_json({"type": "presence", **selectors.presence_payload(presence)})

    async def on_message(self, content: dict[str, Any]) -> None:
        conversation = await self.conversation(content)
        await self.touch_session()
        post = await writer.post_agent_message(
            conversation=conversation,
            agent=self._me(),
            client_id=content.get("client_id"),
            text=content.get("text"),
            internal=bool(content.get("internal")),
            origin=self.channel_name,
        )
        await self.send_json(
            {
                "type": "ack",
                "conversation_id": conversation.public_id.hex,
                "client_id": post.message.client_id,
                "seq": post.message.seq,
                "duplicate": post.duplicate,
            }
        )

    async def on_typing(self, content: dict[str, Any]) -> None:
        cid = str(content.get("conversation_id") or "")
        conversation = self.chats.get(cid)
        if conversation is None:
            return
        active = bool(content.get("active"))
        now = time.monotonic()
        if active and now - self.last_typing.get(cid, 0.0) < TYPING_MIN_INTERVAL:
            return
        self.last_typing[cid] = now if active else 0.0
        events.publish(
            events.conversation_group(conversation.public_id),
            {
                "type": "chat.typing",
                "conversation": cid,
                "sender": "agent",
                "active": active,
                "origin": self.channel_name,
            },
        )

    async def on_read(self, content: dict[str, Any]) -> None:
        conversation = await self.conversation(content)
        await db(actions.do_mark_read)(conversation=conversation, by_customer=False, seq=_seq(content.get("seq")))

    async def on_accept(self, content: dict[str, Any]) -> None:
        conversation = await self.conversation(content)
        await db(actions.do_accept)(conversation=conversation, agent=self._me())

    async def on_open(self, content: dict[str, Any]) -> None:
        """Look at a chat without taking it (a waiting chat, or a colleague's for a supervisor)."""
        conversation = await self.conversation(content)
        await self.follow(conversation)
        after = _seq(content.get("last_seq"))
        await self.send_json({"type": "chat", "chat": await db(self._chat_payload)(conversation, after)})

    async def on_context(self, content: dict[str, Any]) -> None:
        conversation = await self.conversation(content)
        await self.send_json(await db(self._context)(conversation))

    def _context(self, conversation: ChatConversation) -> dict[str, Any]:
        conversation = ChatConversation.objects.select_related("customer", "ticket").get(pk=conversation.pk)
        return {
            "type": "context",
            "conversation_id": conversation.public_id.hex,
            **selectors.customer_context(conversation, viewer=self._me()),
            "canned": selectors.canned_for(self._me(), conversation, agent_language=self.ui_language()),
        }

    async def on_transfer(self, content: dict[str, Any]) -> None:
        conversation = await self.conversation(content)
        await db(self._transfer)(conversation, content)

    def _transfer(self, conversation: ChatConversation, content: dict[str, Any]) -> None:
        to_agent = to_team = None
        if content.get("to_agent"):
            agent_id = selectors._uuid_or_none(content["to_agent"])
            to_agent = User.objects.filter(public_id=agent_id).first() if agent_id else None
            if to_agent is None:
                raise ValidationError("No such agent.")
        elif content.get("to_team"):
            to_team = Team.objects.filter(slug=str(content["to_team"])).first()
            if to_team is None:
                raise ValidationError("No such team.")
        actions.do_transfer(
            conversation=conversation,
            actor=self._me(),
            to_agent=to_agent,
            to_team=to_team,
            note=str(content.get("note") or ""),
        )

    async def on_escalate(self, content: dict[str, Any]) -> None:
        conversation = await self.conversation(content)
        await db(actions.do_escalate)(
            conversation=conversation, actor=self._me(), reason=str(content.get("reason") or "")
        )

    async def on_convert(self, content: dict[str, Any]) -> None:
        conversation = await self.conversation(content)
        ticket = await db(actions.do_convert_to_ticket)(conversation=conversation, actor=self._me())
        await self.send_json(
            {
                "type": "converted",
                "conversation_id": conversation.public_id.hex,
                "case_number": ticket.case_number if ticket else "",
            }
        )

    async def on_close(self, content: dict[str, Any]) -> None:
        conversation = await self.conversation(content)
        closing = await db(self._may_close)(conversation)
        if not closing:
            raise PermissionDenied
        await db(actions.do_close)(conversation=conversation, actor=self._me(), reason=CloseReason.RESOLVED)

    def _may_close(self, conversation: ChatConversation) -> bool:
        me = self._me()
        assignee = (
            ChatConversation.objects.filter(pk=conversation.pk).values_list("assignee_id", flat=True).first()
        )
        return me.is_supervisor or assignee == me.pk

    async def on_dashboard(self, content: dict[str, Any]) -> None:
        if not self._me().is_supervisor:
            raise PermissionDenied
        self.dashboard = True
        # The page's language: the live tables replace what the page rendered in it.
        if content.get("language"):
            self.dashboard_language = _language(content.get("language"))
        await self.send_dashboard()
        if self.dashboard_task is None or self.dashboard_task.done():
            self.dashboard_task = self.spawn(self._dashboard_ticker())

    async def _dashboard_ticker(self) -> None:
        while True:
            await asyncio.sleep(DASHBOARD_REFRESH)
            await self.send_dashboard()

    async def send_dashboard(self) -> None:
        language = self.dashboard_language or _language(self._me().language)
        data = await db(selectors.dashboard)(language=language)
        await self.send_json({"type": "dashboard", **data})

    async def on_reassign(self, content: dict[str, Any]) -> None:
        if not self._me().is_supervisor:
            raise PermissionDenied
        conversation = await self.conversation(content)
        await db(self._transfer)(
            conversation, {"to_agent": content.get("to_agent"), "note": content.get("note")}
        )

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})
        now = time.monotonic()
        if now - self.last_heartbeat > HEARTBEAT_WRITE:
            self.last_heartbeat = now
            await db(actions.do_agent_heartbeat)(agent=self._me())

    # --- group events ---

    async def chat_message(self, event: dict[str, Any]) -> None:
        cid = event["conversation"]
        conversation = self.chats.get(cid)
        if conversation is None:
            return
        seq = event["message"]["seq"]
        if cid not in self.seqs:
            # Just assigned, history still loading: forward; the browser merges by number.
            if event.get("origin") != self.channel_name:
                await self.send_json({"type": "message", "conversation_id": cid, "message": event["message"]})
            return
        last = self.seqs[cid]
        if seq <= last:
            return
        if seq > last + 1:
            # A lost or late event: fill the gap from the database (see the customer's consumer).
            missing, _truncated = await db(selectors.history)(conversation, after=last, staff=True)
            for item in missing:
                if item["seq"] <= seq:
                    await self.send_json({"type": "message", "conversation_id": cid, "message": item})
            self.seqs[cid] = seq
            return
        self.seqs[cid] = seq
        if event.get("origin") != self.channel_name:
            await self.send_json({"type": "message", "conversation_id": cid, "message": event["message"]})

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event.get("origin") != self.channel_name and event["conversation"] in self.chats:
            await self.send_json(
                {"type": "typing", "conversation_id": event["conversation"], "sender": event["sender"],
                 "active": event["active"]}
            )  # fmt: skip

    async def chat_read(self, event: dict[str, Any]) -> None:
        if event["conversation"] in self.chats:
            await self.send_json(
                {
                    "type": "read",
                    "conversation_id": event["conversation"],
                    "by": event["by"],
                    "seq": event["seq"],
                }
            )

    async def chat_status(self, event: dict[str, Any]) -> None:
        payload = {k: v for k, v in event.items() if k not in ("type", "conversation", "team_id", "csat")}
        await self.send_json({"type": "status", "conversation_id": event["conversation"], **payload})
        if event["status"] == ChatStatus.CLOSED:
            await self.unfollow(event["conversation"])

    async def chat_assigned(self, event: dict[str, Any]) -> None:
        # Follow at once (messages for this chat may be next in the channel) and load the chat
        # in the background: a group event handler that waits for the database lets the
        # channel fill up, and a full channel drops events.
        cid = event["conversation"]
        if cid in self.chats:
            # Followed already: a waiting chat this agent opened to look at, and has now taken.
            # The console must hear that it is theirs (its controls, "my chats").
            self.spawn(self._send_assigned(self.chats[cid]))
            return
        stub = ChatConversation(
            pk=event["id"], public_id=uuid.UUID(cid), language=event["language"], status=ChatStatus.ACTIVE
        )
        await self.follow(stub)
        self.spawn(self._send_assigned(stub))

    async def _send_assigned(self, conversation: ChatConversation) -> None:
        await self.send_json({"type": "assigned", "chat": await db(self._chat_payload)(conversation)})

    async def chat_phone_call(self, event: dict[str, Any]) -> None:
        """The agent's phone rings for a hotline call (kefu.phone): the workspace opens its case."""
        await self.send_json({"type": "phone_call", "call": event["call"]})

    async def chat_unassigned(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "unassigned", "conversation_id": event["conversation"]})
        if not self._me().is_supervisor:
            await self.unfollow(event["conversation"])

    async def chat_queue_changed(self, event: dict[str, Any]) -> None:
        self.schedule_staff_refresh()

    async def chat_presence(self, event: dict[str, Any]) -> None:
        if event.get("user") is not None and event.get("user") == self._me().pk:
            if self.presence_refresh is None or self.presence_refresh.done():
                self.presence_refresh = self.spawn(self._send_presence())
        if self.dashboard:
            self.schedule_staff_refresh()

    async def _send_presence(self) -> None:
        await asyncio.sleep(0.2)  # a burst of assignments: one update
        presence = await db(self._presence)()
        await self.send_json({"type": "presence", **selectors.presence_payload(presence)})

    def _presence(self) -> Any:
        from kefu.chat.models import AgentPresence

        return AgentPresence.objects.filter(user=self._me()).first()

    def schedule_staff_refresh(self) -> None:
        if self.staff_refresh is None or self.staff_refresh.done():
            self.staff_refresh = self.spawn(self._staff_refresh())

    async def _staff_refresh(self) -> None:
        await asyncio.sleep(STAFF_DEBOUNCE)
        queue = await db(selectors.staff_queue)(self._me(), language=self.ui_language())
        await self.send_json({"type": "queue", **queue})
        if self.dashboard:
            await self.send_dashboard()
