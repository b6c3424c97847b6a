"""The full-text index over TicketSearch, in each database's own engine (no extra server).

SQLite: an FTS5 table over the three term columns, kept in step by triggers.
PostgreSQL: a generated ``tsvector`` column (title weight A, public text B, internal notes D)
with a GIN index. The terms are already segmented (kefu/tickets/search.py), so the ``simple``
configuration only splits them at spaces.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE tickets_search_fts USING fts5(
        title_terms, public_terms, internal_terms,
        content='tickets_ticketsearch', content_rowid='ticket_id',
        tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER tickets_search_fts_insert AFTER INSERT ON tickets_ticketsearch BEGIN
        INSERT INTO tickets_search_fts(rowid, title_terms, public_terms, internal_terms)
        VALUES (new.ticket_id, new.title_terms, new.public_terms, new.internal_terms);
    END""",
    """CREATE TRIGGER tickets_search_fts_delete AFTER DELETE ON tickets_ticketsearch BEGIN
        INSERT INTO tickets_search_fts(tickets_search_fts, rowid, title_terms, public_terms, internal_terms)
        VALUES ('delete', old.ticket_id, old.title_terms, old.public_terms, old.internal_terms);
    END""",
    """CREATE TRIGGER tickets_search_fts_update AFTER UPDATE ON tickets_ticketsearch BEGIN
        INSERT INTO tickets_search_fts(tickets_search_fts, rowid, title_terms, public_terms, internal_terms)
        VALUES ('delete', old.ticket_id, old.title_terms, old.public_terms, old.internal_terms);
        INSERT INTO tickets_search_fts(rowid, title_terms, public_terms, internal_terms)
        VALUES (new.ticket_id, new.title_terms, new.public_terms, new.internal_terms);
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS tickets_search_fts_update",
    "DROP TRIGGER IF EXISTS tickets_search_fts_delete",
    "DROP TRIGGER IF EXISTS tickets_search_fts_insert",
    "DROP TABLE IF EXISTS tickets_search_fts",
]
POSTGRESQL_FORWARD = [
    """ALTER TABLE tickets_ticketsearch ADD COLUMN vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, title_terms), 'A')
        || setweight(to_tsvector('simple'::regconfig, public_terms), 'B')
        || setweight(to_tsvector('simple'::regconfig, internal_terms), 'D')
    ) STORED""",
    "CREATE INDEX tickets_search_vector ON tickets_ticketsearch USING gin (vector)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS tickets_search_vector",
    "ALTER TABLE tickets_ticketsearch DROP COLUMN IF EXISTS vector",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("tickets", "0005_search")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        )
    ]
