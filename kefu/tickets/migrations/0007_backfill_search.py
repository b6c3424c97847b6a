"""Index the tickets that exist before search did.

Small installations are indexed here. A large one (over BACKFILL_LIMIT tickets) would hold the
upgrade for many minutes in jieba, so it is left to ``kefu manage reindex_tickets``, which is
resumable and can run while Kefu serves (new tickets and replies index themselves).
"""

import sys

from django.db import migrations

BACKFILL_LIMIT = 20_000


def backfill(apps, schema_editor) -> None:
    Ticket = apps.get_model("tickets", "Ticket")
    total = Ticket.objects.count()
    if total == 0:
        return
    if total > BACKFILL_LIMIT:
        sys.stdout.write(f"\n  {total} tickets: run `kefu manage reindex_tickets` to make them searchable.\n")
        return
    from kefu.tickets.search import index_terms

    TicketSearch = apps.get_model("tickets", "TicketSearch")
    Message = apps.get_model("tickets", "Message")
    for ticket in Ticket.objects.filter(search__isnull=True).iterator(chunk_size=500):
        thread = (
            Message.objects.filter(ticket=ticket).order_by("created_at", "id").values_list("kind", "body")
        )
        TicketSearch.objects.update_or_create(ticket=ticket, defaults=index_terms(ticket, list(thread)))


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_search_index")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
