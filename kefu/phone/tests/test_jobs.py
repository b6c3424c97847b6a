"""The hotline's jobs: one follow-up job per webhook, texts sent once however many workers try,
and texts whose job was lost sent by the sweep (issue 14's review)."""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from kefu.jobs.engine import drain
from kefu.phone.actions import SMS_LOST_SECONDS, do_open_case, do_start_call, do_sweep_queue, send_sms
from kefu.phone.models import Call, PhoneSms, SmsStatus
from kefu.phone.tests.conftest import (
    CALLER,
    HOTLINE,
    PUBLIC_URL,
    JsonAnswers,
    fixture,
    serving,
)
from kefu.tickets.models import Status


def test_a_webhook_queues_one_job_for_its_call_however_many_steps_ask(
    hotline, provider, job_queue, django_capture_on_commit_callbacks, play_call
):
    """The queue step opens the case (its hand-over), queues the case number's text and asks
    for an agent; 2 → 2 also texts the freeze link: one job each time, which does all of it."""
    jobs_per_request: dict[str, list[str]] = {}

    class Transport:
        client = Client()

        def post(self, url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
            path = url[len(PUBLIC_URL) :]
            with django_capture_on_commit_callbacks(execute=True):
                response = self.client.post(path, data=params, HTTP_X_TWILIO_SIGNATURE=signature)
            step = path.split("?")[0].rsplit("/", 1)[-1]
            jobs_per_request.setdefault(step, []).extend(task.name for task in job_queue.pending())
            drain()  # a worker runs them while the caller listens
            return response.status_code, response.content.decode()

    call = play_call(["", "0"], transport=Transport())
    assert [name.rsplit(".", 1)[-1] for name in jobs_per_request["menu"]] == ["finish_case"]
    # That one job did everything: the case handed over, the case number texted.
    assert call.ticket is not None and call.ticket.status == Status.NEW
    assert [text["Body"] for text in provider.texts if call.ticket.case_number in text["Body"]]
    assert PhoneSms.objects.get(call=call, purpose="case_number").status == SmsStatus.SENT

    jobs_per_request.clear()
    call = play_call(
        ["", "2", "2"], caller="+8613900000002", transport=Transport()
    )  # stolen account: case, freeze link, queue
    assert [name.rsplit(".", 1)[-1] for name in jobs_per_request["account"]] == ["finish_case"]
    assert set(PhoneSms.objects.filter(call=call).values_list("purpose", "status")) == {
        ("freeze", SmsStatus.SENT),
        ("case_number", SmsStatus.SENT),
    }
    for step, names in jobs_per_request.items():
        assert len(names) <= 1, (step, names)


class HeldProvider:
    """A provider API whose first text is held until the test lets it go: a sender caught in
    the middle of its send, while a second worker tries the same text."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.texts: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        held = self

        class Handler(JsonAnswers):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                form = {
                    k: v[-1]
                    for k, v in parse_qs(
                        self.rfile.read(int(self.headers["Content-Length"])).decode()
                    ).items()
                }
                with held.lock:
                    held.texts.append(form)
                    first = len(held.texts) == 1
                if first:
                    held.arrived.set()
                    held.release.wait(30)
                self._reply(
                    201,
                    fixture("sms_created.json")
                    | {
                        "sid": "SM" + secrets.token_hex(16),
                        "to": form.get("To", ""),
                        "body": form.get("Body", ""),
                    },
                )

        return Handler


def queued_text(hotline, purpose: str = "case_number") -> PhoneSms:
    call = Call.objects.create(
        inbox=hotline, call_sid=f"CA{timezone.now().timestamp():.6f}".replace(".", ""), caller=CALLER
    )
    return PhoneSms.objects.create(
        call=call, purpose=purpose, to=CALLER, body="Kefu: your case number is KF-1."
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_text_send_it_once(hotline, settings):
    held = HeldProvider()
    with serving(held.handler()) as url:
        settings.KEFU_TWILIO_API_URL = url
        sms = queued_text(hotline)
        results: list[bool] = []
        first = threading.Thread(target=lambda: results.append(send_sms(sms.pk)))
        first.start()
        try:
            assert held.arrived.wait(30), "the first worker never reached the provider"
            # The first worker is in the middle of the send: the second finds the text taken.
            assert send_sms(sms.pk) is False
        finally:
            held.release.set()
            first.join(30)
    assert results == [True]
    assert len(held.texts) == 1
    sms.refresh_from_db()
    assert sms.status == SmsStatus.SENT and sms.attempts == 1


def _age(sms: PhoneSms, seconds: int, **fields: object) -> None:
    PhoneSms.objects.filter(pk=sms.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds), **fields
    )


def test_the_sweep_sends_a_text_whose_job_was_lost(hotline, provider, job_queue, play_call):
    # A whole call whose jobs never ran: the process died after each answer's commit.
    call = play_call(["", "0"])
    sms = PhoneSms.objects.get(call=call, purpose="case_number")
    assert sms.status == SmsStatus.QUEUED and not provider.texts
    do_sweep_queue()
    drain()
    assert not provider.texts, "a text just written may still have its job coming"
    _age(sms, SMS_LOST_SECONDS + 1)
    do_sweep_queue()
    drain()
    sms.refresh_from_db()
    assert sms.status == SmsStatus.SENT
    assert [text for text in provider.texts if call.ticket.case_number in text["Body"]]
    # Idempotent: the next sweep (and a second job for the same text) send nothing more.
    count = len(provider.texts)
    do_sweep_queue()
    drain()
    assert send_sms(sms.pk) is False
    assert len(provider.texts) == count


def test_the_sweep_leaves_a_text_being_sent_and_takes_one_whose_sender_died(hotline, provider, job_queue):
    sending = queued_text(hotline)
    _age(sending, SMS_LOST_SECONDS + 1, claimed_at=timezone.now())  # a sender is at it now
    dead = queued_text(hotline)
    _age(dead, SMS_LOST_SECONDS + 1, claimed_at=timezone.now() - timedelta(hours=1))  # died mid-send
    do_sweep_queue()
    drain()
    assert PhoneSms.objects.get(pk=sending.pk).status == SmsStatus.QUEUED
    assert PhoneSms.objects.get(pk=dead.pk).status == SmsStatus.SENT
    assert len(provider.texts) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks (SQLite locks the whole database)")
@pytest.mark.django_db(transaction=True)
def test_opening_a_calls_case_does_not_lock_the_inbox_every_call_shares(hotline):
    """The case-opening step locked its call with SELECT ... FOR UPDATE over a join with the
    inbox, so it locked the hotline's one inbox row as well: every case-opening webhook of the
    hotline waited for the others (1 s tails at 50 calls on PostgreSQL)."""
    call = do_start_call(inbox=hotline, call_sid="CA" + "7" * 32, caller=CALLER, called=HOTLINE)
    other = do_start_call(inbox=hotline, call_sid="CA" + "8" * 32, caller="+8613900000008", called=HOTLINE)
    holding = threading.Event()
    done = threading.Event()

    def another_call_opens_its_case() -> None:
        try:
            with transaction.atomic():  # held open: the other webhook is still at work
                do_open_case(other, topic="agent")
                holding.set()
                done.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=another_call_opens_its_case)
    holder.start()
    try:
        assert holding.wait(30)
        with connection.cursor() as cursor:
            # Turns a wait on the row into an error instead of a hang (not a time measurement).
            cursor.execute("SET lock_timeout = '20s'")
        ticket = do_open_case(call, topic="agent")
        assert ticket.case_number.startswith("KF-")
    finally:
        done.set()
        holder.join(60)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
