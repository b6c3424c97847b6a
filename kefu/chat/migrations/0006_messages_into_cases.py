"""A live chat is a session on a case: its messages become messages of that case's thread.

Each chat's case is its ``ticket`` (the bot's case, or the ticket its hand-off or its close
filed), else a new one: in the bot's stage while the chat is open (closing it opens the case to
the team), closed when it ended. The chat's messages go after the case's own, in the order they
were said, with the case's numbers; read marks follow them. Turns the bot's migration (bot 0002)
or the bot itself already put in the case — a chat on its bot conversation's case copied the
bot's turns said before the hand-off — are not copied twice. Then (0007, a transaction of its own:
PostgreSQL alters no table with pending constraint checks of this one) ChatMessage and the
chat's own message counter go.
"""

import secrets

from django.db import migrations

FALLBACK_CATEGORY = "service-info"
TITLES = {"en": "Live chat", "zh-hans": "在线对话"}
KIND = {"message": "public", "note": "internal"}


def _case_number(Ticket, day) -> str:
    while True:
        number = f"KF-{day:%Y%m%d}-{secrets.randbelow(10**8):08d}"
        if not Ticket.objects.filter(case_number=number).exists():
            return number


def _remap(mark: int, mapping: list[tuple[int, int]], floor: int) -> int:
    """The new number of the last message at or below the old ``mark`` (``floor`` if none)."""
    found = floor
    for old, new in mapping:
        if old <= mark:
            found = new
    return found


def forwards(apps, schema_editor):
    ChatConversation = apps.get_model("chat", "ChatConversation")
    ChatMessage = apps.get_model("chat", "ChatMessage")
    BotConversation = apps.get_model("bot", "BotConversation")
    Ticket = apps.get_model("tickets", "Ticket")
    Message = apps.get_model("tickets", "Message")
    Category = apps.get_model("tickets", "Category")
    # Keep when each message was said and when each chat began.
    Message._meta.get_field("created_at").auto_now_add = False
    Ticket._meta.get_field("created_at").auto_now_add = False
    Ticket._meta.get_field("updated_at").auto_now = False
    category = None
    for chat in ChatConversation.objects.order_by("id").iterator():
        messages = list(ChatMessage.objects.filter(conversation=chat).order_by("seq"))
        ticket = Ticket.objects.filter(pk=chat.ticket_id).first()
        bot_case = (
            ticket is not None
            and chat.bot_conversation_id is not None
            and BotConversation.objects.filter(pk=chat.bot_conversation_id, ticket_id=ticket.pk).exists()
        )
        if ticket is None:
            if category is None:
                category = (
                    Category.objects.filter(slug=FALLBACK_CATEGORY).first()
                    or Category.objects.order_by("id").first()
                    or Category.objects.create(
                        slug=FALLBACK_CATEGORY, name_zh="联系与服务时间", name_en="Contact"
                    )
                )
            first = next((m.text for m in messages if m.sender == "customer" and m.text.strip()), "")
            ticket = Ticket.objects.create(
                case_number=_case_number(Ticket, chat.created_at),
                customer_id=chat.customer_id,
                category_id=chat.category_id or category.pk,
                title=" ".join(first.split())[:80] or TITLES.get(chat.language, TITLES["zh-hans"]),
                description="",
                status="closed" if chat.status == "closed" else "bot",
                channel="chat",
                language=chat.language or "zh-hans",
                created_at=chat.created_at,
                updated_at=chat.updated_at,
            )
            ChatConversation.objects.filter(pk=chat.pk).update(ticket=ticket)
        if bot_case:
            # Said to the bot before the hand-off: the case has these turns already.
            cut = chat.queued_at
            messages = [
                m
                for m in messages
                if not (
                    m.sender in ("customer", "bot")
                    and m.kind == "message"
                    and (cut is None or m.created_at < cut)
                )
            ]
        floor = ticket.last_seq
        mapping = [(m.seq, floor + n) for n, m in enumerate(messages, start=1)]
        Message.objects.bulk_create(
            [
                Message(
                    ticket=ticket,
                    seq=new,
                    author_id=m.author_id,
                    sender=m.sender,
                    kind=KIND.get(m.kind, "public"),
                    body=m.text,
                    channel="chat",
                    # A resend id is unique per case: an older chat's on the same case keeps
                    # its messages, without the id.
                    client_id=m.client_id
                    if m.client_id
                    and not Message.objects.filter(ticket=ticket, client_id=m.client_id).exists()
                    else "",
                    extra=m.extra or {},
                    created_at=m.created_at,
                )
                for (old, new), m in zip(mapping, messages, strict=True)
            ]
        )
        last = floor + len(messages)
        Ticket.objects.filter(pk=ticket.pk).update(last_seq=last)
        ChatConversation.objects.filter(pk=chat.pk).update(
            customer_read_seq=_remap(chat.customer_read_seq, mapping, floor if chat.customer_read_seq else 0),
            agent_read_seq=_remap(chat.agent_read_seq, mapping, floor if chat.agent_read_seq else 0),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0005_service_calendar_business_calendar"),
        ("bot", "0002_turns_into_cases"),
        ("tickets", "0010_saved_view"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
    ]
