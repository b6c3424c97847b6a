"""One thread per case: messages get a sender, a per-case number, a client and an external id.

Existing messages are numbered in thread order (created_at, id) and their sender is derived
from their kind and author, in one statement each on either database, before the uniqueness
constraint is added.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


STAFF = ("agent", "specialist", "supervisor", "admin")


def backfill(apps, schema_editor):
    Message = apps.get_model("tickets", "Message")
    Ticket = apps.get_model("tickets", "Ticket")
    User = apps.get_model("accounts", "User")
    m, t, u = Message._meta.db_table, Ticket._meta.db_table, User._meta.db_table
    staff = ", ".join(f"'{role}'" for role in STAFF)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {m} SET seq = numbered.n FROM (
                SELECT id, ROW_NUMBER() OVER (PARTITION BY ticket_id ORDER BY created_at, id) AS n
                FROM {m}
            ) AS numbered WHERE {m}.id = numbered.id
            """
        )
        cursor.execute(
            f"""
            UPDATE {m} SET sender = CASE
                WHEN kind = 'system' THEN 'system'
                WHEN author_id IS NULL THEN CASE WHEN kind = 'public' THEN 'customer' ELSE 'system' END
                WHEN author_id = (SELECT customer_id FROM {t} WHERE {t}.id = {m}.ticket_id) THEN 'customer'
                WHEN (SELECT role FROM {u} WHERE {u}.id = {m}.author_id) IN ({staff}) THEN 'agent'
                ELSE 'customer' END
            """
        )
        cursor.execute(
            f"""
            UPDATE {t} SET last_seq = counted.n FROM (
                SELECT ticket_id, MAX(seq) AS n FROM {m} GROUP BY ticket_id
            ) AS counted WHERE {t}.id = counted.ticket_id
            """
        )
        if schema_editor.connection.vendor == "postgresql":
            # The updates queued the deferred foreign-key checks of every row they touched;
            # PostgreSQL refuses the CREATE INDEX below while those are pending ("pending trigger
            # events"). Run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('tickets', '0007_backfill_search'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='client_id',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='message',
            name='external_id',
            field=models.CharField(blank=True, default='', max_length=255),
        ),
        migrations.AddField(
            model_name='message',
            name='extra',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='message',
            name='sender',
            field=models.CharField(choices=[('customer', 'Customer'), ('agent', 'Agent'), ('bot', 'Bot'), ('system', 'System')], default='customer', max_length=10),
        ),
        migrations.AddField(
            model_name='message',
            name='seq',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='ticket',
            name='last_seq',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='customer',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='tickets', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='status',
            field=models.CharField(choices=[('bot', 'With the bot'), ('new', 'New'), ('open', 'Open'), ('pending_customer', 'Waiting for customer'), ('on_hold', 'On hold'), ('resolved', 'Resolved'), ('closed', 'Closed')], default='new', max_length=20, verbose_name='status'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('external_id', ''), _negated=True), fields=['channel', 'external_id'], name='message_external_id'),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(fields=('ticket', 'seq'), name='message_seq'),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(condition=models.Q(('client_id', ''), _negated=True), fields=('ticket', 'client_id'), name='message_client_id'),
        ),
    ]
