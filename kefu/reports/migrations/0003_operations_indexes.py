"""Indexes for the operations report families (docs/reports.md, "Cost and scale").

Each serves one period filter, so a report reads an index range, not the table. Created here,
by the app that reads them, with raw SQL and no model state (as 0001 does), so that the
phone, bot, ticket, CSAT and help-centre apps' migration chains are untouched. Both SQLite
and PostgreSQL accept every statement (the partial ones too).
"""

from django.db import migrations

INDEXES = [
    ("reports_call_queued", "phone_call (queued_at)", "queued_at IS NOT NULL"),
    ("reports_call_answered", "phone_call (answered_at)", "answered_at IS NOT NULL"),
    ("reports_callback_created", "phone_callback (created_at)", ""),
    ("reports_botconversation_created", "bot_botconversation (created_at)", ""),
    ("reports_message_bot_created", "tickets_message (created_at)", "sender = 'bot'"),
    ("reports_ticket_resolved", "tickets_ticket (resolved_at)", "resolved_at IS NOT NULL"),
    ("reports_csat_created", "chat_csatsurvey (created_at)", ""),
    ("reports_feedback_updated", "helpcenter_articlefeedback (updated_at)", ""),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_rollups"),
        ("phone", "0001_initial"),
        ("bot", "0001_initial"),
        ("tickets", "0001_initial"),
        ("csat", "0001_initial"),
        ("chat", "0004_move_csatsurvey_to_csat"),
        ("helpcenter", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON {target}" + (f" WHERE {where}" if where else ""),
            f"DROP INDEX IF EXISTS {name}",
        )
        for name, target, where in INDEXES
    ]
