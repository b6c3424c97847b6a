"""Tickets (工单): categories, the ticket itself, its messages, attachments and canned replies."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import Storage
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Team
from kefu.storage import file_store


class Category(models.Model):
    """A node of the category tree; a ticket's category decides the team queue it lands in."""

    slug = models.SlugField(verbose_name=_("slug"), unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("Queue; inherited from the parent if empty."),
    )
    intents = models.JSONField(
        default=list, blank=True, help_text=_("Bot intents filed under this category.")
    )
    position = models.PositiveIntegerField(verbose_name=_("position"), default=0)
    is_active = models.BooleanField(verbose_name=_("is active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name_zh

    def localized_name(self, language: str | None) -> str:
        return self.name_en if (language or "").startswith("en") else self.name_zh

    def routed_team(self) -> Team | None:
        node: Category | None = self
        while node is not None:
            if node.team_id:
                return node.team
            node = node.parent
        return None


class Status(models.TextChoices):
    # The bot's stage: a conversation with the assistant is a case from its first message, kept
    # out of every agents' queue (not active) until the hand-off moves it to ``new``.
    BOT = "bot", _("With the bot")
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING_CUSTOMER = "pending_customer", _("Waiting for customer")
    ON_HOLD = "on_hold", _("On hold")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# What agents may set: the bot's stage is entered and left by the bot and the hand-off only.
AGENT_STATUS_CHOICES = [(value, label) for value, label in Status.choices if value != Status.BOT]
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD)
# The one spelling of "active" used by queries and partial indexes alike, so that PostgreSQL
# can prove a query's filter implies an index's predicate.
ACTIVE_Q = models.Q(status__in=[s.value for s in ACTIVE_STATUSES])
# Cases people see in lists, counts, search and the portal: everything past the bot's stage (a
# conversation with the assistant is a case from its first message, see kefu/tickets/stages.py).
VISIBLE_Q = ~models.Q(status=Status.BOT)


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    API = "api", _("API")
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    BOT = "bot", _("Bot")
    PHONE = "phone", _("Phone")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    AGENT = "agent", _("Agent")


class Ticket(models.Model):
    """A case (工单): one customer problem, whatever channels it comes through.

    Every channel's messages live in its thread (:class:`Message`): the bot's turns, a live
    chat, mail, portal and API replies, notes and system events. ``customer`` is empty only
    while nobody knows who is writing (a signed-out visitor talking to the bot).
    """

    case_number = models.CharField(_("case number"), max_length=32, unique=True, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="tickets")
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    tier = models.PositiveSmallIntegerField(_("support tier"), default=1)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.PORTAL)
    language = models.CharField(max_length=10, default="zh-hans")
    # Structured fields agents ask for on asset questions.
    coin = models.CharField(_("coin"), max_length=20, blank=True)
    network = models.CharField(_("network"), max_length=40, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=38, decimal_places=18, null=True, blank=True)
    tx_hash = models.CharField(_("transaction hash"), max_length=130, blank=True)
    order_number = models.CharField(_("order number"), max_length=64, blank=True)
    security_flag = models.BooleanField(_("security flag"), default=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Messages are numbered 1, 2, 3 ... per case, under this row's lock (kefu/tickets/thread.py):
    # a client resumes from the last number it has seen.
    last_seq = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        # Each index serves one list, ordered newest activity first and paged by
        # (updated_at, id), so a page is an index range scan whatever the table size. Partial
        # indexes hold only active tickets: queues never sort through millions of closed ones.
        indexes = [
            models.Index(
                fields=["team", "-updated_at", "-id"], name="ticket_team_active", condition=ACTIVE_Q
            ),
            models.Index(
                fields=["team", "-updated_at", "-id"],
                name="ticket_team_unassigned",
                condition=ACTIVE_Q & models.Q(assignee__isnull=True),
            ),
            models.Index(
                fields=["team", "-updated_at", "-id"],
                name="ticket_team_escalated",
                condition=ACTIVE_Q & models.Q(tier__gte=2),
            ),
            models.Index(fields=["-updated_at", "-id"], name="ticket_active", condition=ACTIVE_Q),
            models.Index(fields=["team", "status", "-updated_at", "-id"], name="ticket_team_status"),
            models.Index(fields=["assignee", "-updated_at", "-id"], name="ticket_assignee"),
            models.Index(fields=["customer", "-updated_at", "-id"], name="ticket_customer"),
            models.Index(fields=["status", "-updated_at", "-id"], name="ticket_status"),
            # Exact lookups of the agents' search (kefu/tickets/search.py); most tickets have
            # neither, so only the filled ones are indexed.
            models.Index(fields=["tx_hash"], name="ticket_tx_hash", condition=~models.Q(tx_hash="")),
            models.Index(
                fields=["order_number"], name="ticket_order_number", condition=~models.Q(order_number="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_number} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def amount_text(self) -> str:
        """The amount without trailing zeros or exponent: ``200``, ``0.5``."""
        return "" if self.amount is None else format(self.amount.normalize(), "f")


class MessageKind(models.TextChoices):
    PUBLIC = "public", _("Reply")
    INTERNAL = "internal", _("Internal note")
    SYSTEM = "system", _("System event")


class Sender(models.TextChoices):
    """Who wrote a message: what the thread shows beside it, and what SLA clocks count."""

    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    BOT = "bot", _("Bot")
    SYSTEM = "system", _("System")


class Message(models.Model):
    """One entry of a case's thread, from any channel.

    ``seq`` numbers a case's messages 1, 2, 3 ... without gaps; ``client_id`` is the sender's
    own id for a message (a resend after a reconnect is recognised, not stored twice);
    ``external_id`` is the channel's id for it (a mail's Message-ID, a provider's message id);
    ``extra`` holds what a channel renders beside the text (the bot's quick replies and links,
    a system event's kind, the bot's intent).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField(default=0)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    sender = models.CharField(max_length=10, choices=Sender.choices, default=Sender.CUSTOMER)
    kind = models.CharField(max_length=10, choices=MessageKind.choices, default=MessageKind.PUBLIC)
    body = models.TextField(_("message"))
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.PORTAL)
    client_id = models.CharField(max_length=64, blank=True, default="")
    external_id = models.CharField(max_length=255, blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="message_thread"),
            models.Index(
                fields=["channel", "external_id"],
                name="message_external_id",
                condition=~models.Q(external_id=""),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "seq"], name="message_seq"),
            models.UniqueConstraint(
                fields=["ticket", "client_id"], name="message_client_id", condition=~models.Q(client_id="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq}/{self.kind}"


class TicketSearch(models.Model):
    """A ticket's text as search terms, written when the ticket or a message is (kefu/tickets/search.py).

    Terms, not text: Chinese is segmented in Python (jieba words and character bigrams) and
    stored space-separated, so the database's own full-text engine only splits at spaces —
    SQLite FTS5 and PostgreSQL's ``to_tsvector('simple', ...)`` index the same terms. The
    full-text index itself is not a Django field: migration 0006 adds an FTS5 table kept in step
    by triggers (SQLite) or a generated ``tsvector`` column with a GIN index (PostgreSQL).
    Internal notes are kept apart from what the customer sees, so a customer's search never
    matches words that only an internal note contains.
    """

    ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.CASCADE, related_name="search")
    title_terms = models.TextField(blank=True, default="")
    public_terms = models.TextField(blank=True, default="")
    internal_terms = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("ticket search terms")
        verbose_name_plural = _("ticket search terms")

    def __str__(self) -> str:
        return str(self.ticket_id)


def attachment_storage() -> Storage:
    """The configured file store (kefu/storage.py), resolved at each use: the migrations name
    this callable, and a test may swap the store."""
    return file_store()


def _attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is random: the customer's file name never touches the file system.
    return f"attachments/{instance.public_id.hex[:2]}/{instance.public_id.hex}"


class Attachment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    file = models.FileField(upload_to=_attachment_path, storage=attachment_storage)
    original_name = models.CharField(verbose_name=_("original name"), max_length=200)
    content_type = models.CharField(verbose_name=_("content type"), max_length=64)
    size = models.PositiveIntegerField(verbose_name=_("size"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class CannedReply(models.Model):
    """A reusable answer. ``{name}`` and ``{case_number}`` are filled in when inserted."""

    title = models.CharField(_("title (Chinese)"), max_length=120)
    title_en = models.CharField(
        _("title (English)"), max_length=120, blank=True, help_text=_("Empty: the Chinese title.")
    )
    body_zh = models.TextField(_("text (Chinese)"))
    body_en = models.TextField(_("text (English)"))
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Empty: all teams."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def body_for(self, language: str) -> str:
        return self.body_en if language.startswith("en") else self.body_zh

    def title_for(self, language: str) -> str:
        """The title in the agent's language (English falls back to the Chinese title)."""
        return (self.title_en or self.title) if language.startswith("en") else self.title


class Tag(models.Model):
    """A label agents put on tickets, from a list admins keep; the lists filter by it (``?tag=``).

    The relation is declared here, not on :class:`Ticket`: tagging never touches the ticket row
    (its ``updated_at`` orders the lists, and a label is not activity on the case).
    """

    slug = models.SlugField(_("slug"), unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    tickets = models.ManyToManyField(Ticket, verbose_name=_("tickets"), related_name="tags", blank=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name_zh

    def localized_name(self, language: str | None) -> str:
        return self.name_en if (language or "").startswith("en") else self.name_zh


class SavedView(models.Model):
    """A workspace list an agent keeps: a name and the list's query string, for them alone or
    shared with every agent (who still see only the tickets they may see)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("query"), max_length=500)
    shared = models.BooleanField(_("shared with all agents"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["shared"], name="saved_view_shared", condition=models.Q(shared=True))]

    def __str__(self) -> str:
        return self.name
