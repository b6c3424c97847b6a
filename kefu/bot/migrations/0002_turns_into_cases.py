"""A bot conversation is a case: its turns become messages of that case's thread.

Each conversation's case is the ticket its hand-off filed, if any (the turns go before that
ticket's own messages, in the order they were said), else a new case: in the bot's stage while
the conversation is still with the bot, closed when it ended or went to a live chat (whose
transcript was filed on its own ticket). Then BotTurn goes.
"""

import secrets

from django.db import migrations
from django.db.models import F

FALLBACK_CATEGORY = "service-info"
TITLES = {"en": "Conversation with the assistant", "zh-hans": "与智能助手的对话"}


def _case_number(Ticket, day) -> str:
    while True:
        number = f"KF-{day:%Y%m%d}-{secrets.randbelow(10**8):08d}"
        if not Ticket.objects.filter(case_number=number).exists():
            return number


def forwards(apps, schema_editor):
    BotConversation = apps.get_model("bot", "BotConversation")
    BotTurn = apps.get_model("bot", "BotTurn")
    Ticket = apps.get_model("tickets", "Ticket")
    Message = apps.get_model("tickets", "Message")
    Category = apps.get_model("tickets", "Category")
    # Keep when each turn was said and when each conversation began.
    Message._meta.get_field("created_at").auto_now_add = False
    Ticket._meta.get_field("created_at").auto_now_add = False
    Ticket._meta.get_field("updated_at").auto_now = False
    category = None
    conversations = BotConversation.objects.filter(turns__isnull=False).distinct().order_by("id")
    for conversation in conversations.iterator():
        turns = list(BotTurn.objects.filter(conversation=conversation).order_by("created_at", "id"))
        ticket = Ticket.objects.filter(pk=conversation.ticket_id).first()
        if ticket is None:
            if category is None:
                category = (
                    Category.objects.filter(slug=FALLBACK_CATEGORY).first()
                    or Category.objects.order_by("id").first()
                    or Category.objects.create(
                        slug=FALLBACK_CATEGORY, name_zh="联系与服务时间", name_en="Contact"
                    )
                )
            first = next((t.text for t in turns if t.sender == "customer" and t.text.strip()), "")
            ticket = Ticket.objects.create(
                case_number=_case_number(Ticket, conversation.created_at),
                customer_id=conversation.customer_id,
                category=category,
                title=" ".join(first.split())[:80] or TITLES.get(conversation.language, TITLES["zh-hans"]),
                description="",
                status="bot" if conversation.status == "bot" else "closed",
                channel="bot",
                language=conversation.language or "zh-hans",
                created_at=conversation.created_at,
                updated_at=conversation.updated_at,
            )
            BotConversation.objects.filter(pk=conversation.pk).update(ticket=ticket)
        count = len(turns)
        last = ticket.last_seq
        if last:
            # Make room at the front in two steps, so that no row ever takes a number another
            # row still holds (a unique constraint PostgreSQL checks row by row).
            Message.objects.filter(ticket=ticket).update(seq=F("seq") + (last + count))
            Message.objects.filter(ticket=ticket).update(seq=F("seq") - last)
        Message.objects.bulk_create(
            [
                Message(
                    ticket=ticket,
                    seq=n,
                    author_id=conversation.customer_id if turn.sender == "customer" else None,
                    sender="customer" if turn.sender == "customer" else "bot",
                    kind="public",
                    body=turn.text,
                    channel="bot",
                    extra={
                        key: value
                        for key, value in (("intent", turn.intent), ("confidence", turn.confidence))
                        if value not in ("", None)
                    },
                    created_at=turn.created_at,
                )
                for n, turn in enumerate(turns, start=1)
            ]
        )
        Ticket.objects.filter(pk=ticket.pk).update(last_seq=last + count)


class Migration(migrations.Migration):
    dependencies = [
        ("bot", "0001_initial"),
        ("tickets", "0008_case_thread"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
        migrations.DeleteModel(name="BotTurn"),
    ]
