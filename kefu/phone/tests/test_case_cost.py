"""What the case-opening webhook makes the caller wait for (issue 14's answer-time bar): the case
row, its first call-log line, the call written once, the case number's text queued — one short
transaction, with the reads before it. py-spy on ``kefu serve`` under 50 concurrent calls found
that step waiting for SQLite's one write lock, not computing: it wrote the call three times
before its transaction (menu path, topic, the caller's contact) and read the route inside it."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kefu.inbox.models import ContactIdentity
from kefu.jobs.engine import drain
from kefu.phone.models import PhoneSms
from kefu.phone.tests.conftest import CALLER, PUBLIC_URL
from kefu.tickets.models import Status

WRITES = ("INSERT", "UPDATE", "DELETE")


def menu_step_sql(play_call, django_capture_on_commit_callbacks, keys: list[str | None], caller: str):
    """Play a call; the SQL of its ``menu`` webhook (the step that opens the case). The jobs
    each answer queued run after it, outside what is counted, as a worker would run them."""
    captured: dict[str, list[str]] = {}

    class Capturing:
        client = Client()

        def post(self, url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
            path = url[len(PUBLIC_URL) :]
            step = path.split("?")[0].rsplit("/", 1)[-1]
            with (
                django_capture_on_commit_callbacks(execute=True),
                CaptureQueriesContext(connection) as queries,
            ):
                response = self.client.post(path, data=params, HTTP_X_TWILIO_SIGNATURE=signature)
            captured.setdefault(step, [q["sql"] for q in queries.captured_queries])
            drain()
            return response.status_code, response.content.decode()

    call = play_call(keys, caller=caller, transport=Capturing())
    return call, captured["menu"]


def test_the_case_opening_step_writes_once_in_one_short_transaction(
    hotline, job_queue, django_capture_on_commit_callbacks, play_call
):
    # A first call warms the per-process caches (the category tree) as a running server has them.
    menu_step_sql(play_call, django_capture_on_commit_callbacks, ["", "1"], "+8613900000001")
    call, sql = menu_step_sql(play_call, django_capture_on_commit_callbacks, ["", "1"], CALLER)
    ticket = call.ticket
    assert ticket is not None and call.queued_at is not None and call.menu_path == "1"
    assert call.topic == "deposits" and ticket.category.slug == "assets"
    writes = [s for s in sql if s.startswith(WRITES)]
    # The call is written once: menu path, topic, case and queue in one UPDATE (were three).
    assert len([s for s in writes if s.startswith('UPDATE "phone_call"')]) == 1, writes
    # Every write inside the one transaction (the test's own wraps it: a savepoint); the reads
    # (the account, a case to join, the route) before it, the call's lock the only read inside.
    begin = next(i for i, s in enumerate(sql) if s.startswith("SAVEPOINT"))
    end = max(i for i, s in enumerate(sql) if s.startswith("RELEASE SAVEPOINT"))
    assert not [s for s in sql[:begin] + sql[end + 1 :] if s.startswith(WRITES)], sql
    inside = [s for s in sql[begin:end] if s.startswith("SELECT")]
    assert len(inside) == 1 and 'FROM "phone_call"' in inside[0], inside
    # No reference rows read (the category tree is cached per process), the first call-log
    # line numbered with the case's insert (no UPDATE of last_seq), the contact left to the job.
    assert not [s for s in sql if 'FROM "tickets_category"' in s or 'FROM "accounts_team"' in s], sql
    assert not [s for s in writes if "tickets_ticket" in s and s.startswith("UPDATE")], writes
    assert not [s for s in writes if "inbox_contactidentity" in s], writes
    assert len(sql) <= 13, "\n".join(sql)  # was 25
    # The follow-up job then did the rest: the hand-over, the contact, the text.
    drain()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert ContactIdentity.objects.filter(inbox=hotline, address=CALLER).exists()
    assert PhoneSms.objects.get(call=call, purpose="case_number").sent_at is not None
    assert [m.extra["event"] for m in ticket.messages.order_by("seq")][:2] == ["phone.started", "handed_off"]
