"""WhatsApp on the messaging core: a stranger's number talks to the bot (its quick replies as
reply buttons), a seed phrase sent over WhatsApp, photos and documents through the upload
checks, reactions and other types kept out of the case."""

from __future__ import annotations

import pytest
from mnemonic import Mnemonic

from kefu.conftest import pdf_bytes, png_bytes
from kefu.inbox.models import DeliveryStatus, EventStatus, InboundEvent, Inbox, OutboundDelivery
from kefu.mail.tests.test_safety import everything_stored
from kefu.tickets.models import Attachment, Sender, Status, Ticket
from kefu.whatsapp.tests import fake_graph as fg
from kefu.whatsapp.tests.conftest import APP_SECRET
from kefu.whatsapp.tests.helpers import inbox, post_webhook, settle

pytestmark = pytest.mark.django_db

PHRASE = Mnemonic("english").to_mnemonic(bytes(range(112, 128)))


@pytest.fixture
def bot_inbox(graph) -> Inbox:
    return inbox(bot=True)


def test_a_stranger_talks_to_the_bot_and_its_replies_go_out_with_buttons(bot_inbox, graph):
    post_webhook(fg.inbound(fg.text("hello", wamid="wamid.G1", wa_id="447700900123")), secret=APP_SECRET)
    settle()
    event = InboundEvent.objects.get()
    assert event.status == EventStatus.PROCESSED, (event.ignore_reason, event.last_error)
    case = event.ticket
    assert case.customer_id is None and case.status == Status.BOT
    replies = list(case.messages.filter(sender=Sender.BOT))
    assert replies and all(d.status == DeliveryStatus.SENT for d in OutboundDelivery.objects.all())
    sent = graph.sent()
    assert len(sent) == len(replies) and all(m["to"] == "447700900123" for m in sent)
    with_options = [r for r in replies if (r.extra or {}).get("quick_replies")]
    if with_options:  # the greeting offers topics: reply buttons or a list, never lost
        assert any(m["type"] == "interactive" for m in sent)


def test_a_seed_phrase_sent_on_whatsapp_is_never_stored_or_forwarded(bot_inbox, graph, caplog):
    body = f"support asked me for my words {PHRASE} is that ok"
    post_webhook(fg.inbound(fg.text(body, wamid="wamid.P1")), secret=APP_SECRET)
    settle()
    stored = everything_stored()
    forwarded = str(graph.sent())
    for window in (PHRASE, " ".join(PHRASE.split()[3:7])):
        assert window not in stored and window not in caplog.text and window not in forwarded
    assert Ticket.objects.get().security_flag or "mnemonic" in str(InboundEvent.objects.get().payload)


def test_a_photo_and_a_document_become_attachments_and_an_oversized_one_is_noted(graph, alice, settings):
    from kefu.inbox import pipeline

    pipeline.identify(inbox(), address="+16505551234", customer=alice)
    graph.media["1234567890"] = (png_bytes(), "image/png")
    graph.media["2222222222"] = (pdf_bytes(), "application/pdf")
    graph.media["3333333333"] = (png_bytes((400, 400)), "image/png")

    def media(kind: str, wamid: str, media_id: str, **extra: str) -> dict:
        return {
            "from": "16505551234",
            "id": wamid,
            "timestamp": "1749416400",
            "type": kind,
            kind: {"id": media_id, "mime_type": extra.pop("mime"), "sha256": "x", **extra},
        }

    big = png_bytes((400, 400))
    settings.KEFU_WHATSAPP_MAX_MEDIA_BYTES = max(len(png_bytes()), len(pdf_bytes())) + 1
    assert len(big) > settings.KEFU_WHATSAPP_MAX_MEDIA_BYTES
    body = fg.inbound(
        media("image", "wamid.M1", "1234567890", mime="image/png", caption="my deposit screen"),
        media("document", "wamid.M2", "2222222222", mime="application/pdf", filename="statement.pdf"),
        media("image", "wamid.M3", "3333333333", mime="image/png"),
    )
    post_webhook(body, secret=APP_SECRET)
    settle()
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
    names = sorted(Attachment.objects.values_list("original_name", flat=True))
    assert names == ["image.png", "statement.pdf"]
    messages = list(Ticket.objects.get().messages.order_by("seq").values_list("body", flat=True))
    assert messages[0] == "my deposit screen"
    assert "image.png" in messages[2] and ("too large" in messages[2] or "过大" in messages[2])


def test_a_reaction_is_kept_as_an_ignored_event_not_a_message(graph, alice):
    from kefu.inbox import pipeline

    pipeline.identify(inbox(), address="+16505551234", customer=alice)
    reaction = {
        "from": "16505551234",
        "id": "wamid.X1",
        "timestamp": "1749416390",
        "type": "reaction",
        "reaction": {"message_id": "wamid.G1", "emoji": "👍"},
    }
    post_webhook(fg.inbound(reaction), secret=APP_SECRET)
    post_webhook(fg.inbound(reaction), secret=APP_SECRET)
    settle()
    event = InboundEvent.objects.get()
    assert (event.status, event.ignore_reason) == (EventStatus.IGNORED, "unsupported_type")
    assert not Ticket.objects.exists()
