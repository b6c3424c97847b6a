"""An index on tickets' creation time, for the reports' period queries.

Every report counts tickets by ``created_at`` range; without this index each one scans the
whole table. It is created here, by the app that needs it, with raw SQL and no model state
(``tickets.Ticket`` does not declare it), so that the reports do not add a migration to the
ticket core's chain. Both SQLite and PostgreSQL accept the statement.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reports_ticket_created ON tickets_ticket (created_at)",
            "DROP INDEX IF EXISTS reports_ticket_created",
        ),
    ]
