"""Outgoing webhooks against a real HTTP receiver (a thread), verified with the
``standardwebhooks`` library: the API contract, signing and rotation, retries and disabling,
the SSRF rules on save and at send time, minimal payloads, and the outbox's atomicity."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from kefu.accounts.models import Role
from kefu.conftest import bearer, make_user
from kefu.jobs.engine import drain
from kefu.tickets.models import Ticket
from kefu.webhooks import actions
from kefu.webhooks.models import Delivery, DeliveryStatus, Endpoint
from kefu.webhooks.tasks import sweep_webhooks
from kefu.webhooks.tests.receiver import start_receiver

NEW_TICKET = {
    "category": "deposit-not-credited",
    "title": "USDT not credited",
    "description": "Sent 100 USDT on TRC-20 two hours ago.",
    "coin": "usdt",
    "network": "TRC-20",
    "amount": "100.5",
}


@pytest.fixture
def receiver():
    receiver = start_receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def local_targets(settings):
    """A receiver on 127.0.0.1 needs the development setting."""
    settings.KEFU_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def admin(db):
    return make_user("admin@example.com", Role.ADMIN)


def create_endpoint(admin, url: str, events: list[str], **extra) -> dict:
    response = bearer(admin).post(
        "/api/v1/webhooks", {"url": url, "events": events, **extra}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def file_ticket(user) -> str:
    response = bearer(user).post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["case_number"]


def verified(secret: str, request) -> dict:
    return Webhook(secret).verify(request.body, request.headers)


# --------------------------------------------------------------------------- the API


@pytest.mark.django_db
def test_an_admin_registers_an_endpoint_and_gets_a_standard_webhooks_secret(admin, local_targets):
    body = create_endpoint(admin, "http://127.0.0.1:9/hook", ["ticket.created", "message.created"])
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    assert body["events"] == ["message.created", "ticket.created"] and body["active"] is True
    listed = bearer(admin).get("/api/v1/webhooks").json()
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    # Sealed at rest: the database row does not hold the secret.
    stored = Endpoint.objects.get(public_id=body["id"]).secret
    assert stored.startswith("sealed1:") and body["secret"] not in stored


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.AGENT, Role.SUPERVISOR])
def test_only_admins_manage_webhooks(role, local_targets):
    user = make_user(f"{role}@example.com", role)
    client = bearer(user)
    answer = client.post(
        "/api/v1/webhooks",
        {"url": "https://example.com/h", "events": ["ticket.created"]},
        content_type="application/json",
    )
    assert answer.status_code == 403
    assert client.get("/api/v1/webhooks").status_code == 403
    assert not Endpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://2130706433/hook",
    ],
)
def test_private_loopback_link_local_and_reserved_targets_are_refused_on_save(admin, url):
    answer = bearer(admin, "en").post(
        "/api/v1/webhooks", {"url": url, "events": ["ticket.created"]}, content_type="application/json"
    )
    assert answer.status_code == 400, answer.content
    assert "url" in answer.json()["errors"]
    assert not Endpoint.objects.exists()


@pytest.mark.django_db
def test_the_refusal_is_translated_and_unknown_events_and_schemes_are_refused(admin):
    client = bearer(admin)  # zh-hans
    answer = client.post(
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1/", "events": ["ticket.created"]},
        content_type="application/json",
    )
    assert answer.status_code == 400 and "私有" in answer.json()["errors"]["url"][0]
    for payload in (
        {"url": "ftp://example.com/", "events": ["ticket.created"]},
        {"url": "https://example.com/", "events": ["ticket.exploded"]},
        {"url": "https://example.com/", "events": []},
        {"url": "https://user:pw@example.com/", "events": ["ticket.created"]},
        {"url": "https://93.184.215.14/" + "a" * 500, "events": ["ticket.created"]},
    ):
        assert client.post("/api/v1/webhooks", payload, content_type="application/json").status_code == 400


@pytest.mark.django_db
def test_delete_and_rotate_need_an_existing_endpoint(admin, local_targets):
    body = create_endpoint(admin, "http://127.0.0.1:9/hook", ["*"])
    client = bearer(admin)
    assert client.post("/api/v1/webhooks/not-a-uuid/rotate").status_code == 404
    rotated = client.post(f"/api/v1/webhooks/{body['id']}/rotate").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != body["secret"]
    assert client.delete(f"/api/v1/webhooks/{body['id']}").status_code == 204
    assert client.delete(f"/api/v1/webhooks/{body['id']}").status_code == 404


# --------------------------------------------------------------------------- deliveries


@pytest.mark.django_db(transaction=True)
def test_a_new_ticket_is_delivered_signed_with_its_case_number_and_no_sensitive_fields(
    admin, alice, receiver, local_targets, job_queue
):
    endpoint = create_endpoint(admin, receiver.url, ["ticket.created"])
    case_number = file_ticket(alice)
    drain()
    [request] = receiver.requests
    payload = verified(endpoint["secret"], request)
    assert request.headers["webhook-id"].startswith("msg_")
    assert payload["type"] == "ticket.created" and payload["version"] == 1
    ticket = payload["data"]["ticket"]
    assert ticket["case_number"] == case_number and ticket["status"] == "new" and ticket["channel"] == "api"
    # Minimal by default: no title, text, customer, coin, amount or hash.
    text = request.body.decode()
    for absent in ("USDT not credited", "Sent 100", "alice@", "100.5", "TRC-20", '"title"', '"body"'):
        assert absent not in text
    # A wrong secret does not verify it.
    with pytest.raises(WebhookVerificationError):
        Webhook(actions.new_secret()).verify(request.body, request.headers)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert delivery.message_id == request.headers["webhook-id"]


@pytest.mark.django_db(transaction=True)
def test_sensitive_fields_are_sent_only_to_an_endpoint_that_opted_in(
    admin, alice, agent, receiver, local_targets, job_queue
):
    endpoint = create_endpoint(admin, receiver.url, ["message.created"], include_sensitive=True)
    case_number = file_ticket(alice)
    answer = bearer(agent).post(
        f"/api/v1/tickets/{case_number}/messages",
        {"body": "We are checking the deposit."},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    drain()
    [request] = receiver.requests  # only message.created was asked for
    payload = verified(endpoint["secret"], request)
    assert payload["type"] == "message.created"
    assert payload["data"]["message"]["body"] == "We are checking the deposit."
    assert payload["data"]["ticket"]["customer"]["email"] == "alice@example.com"


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_is_retried_within_a_minute_under_the_same_id(
    admin, alice, receiver, local_targets, job_queue
):
    endpoint = create_endpoint(admin, receiver.url, ["ticket.created"])
    receiver.decide = lambda request: 503
    before = timezone.now()
    file_ticket(alice)
    drain()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.PENDING, 1, 503)
    assert "503" in delivery.last_error
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at <= before + timedelta(seconds=60)
    # Not due yet: the sweep leaves it alone.
    sweep_webhooks.call_local()
    assert drain() == 0
    # Due: the sweep enqueues it, and this time the receiver accepts.
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    receiver.decide = lambda request: 204
    sweep_webhooks.call_local()
    drain()
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and first.body == second.body
    verified(endpoint["secret"], second)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert Endpoint.objects.get().consecutive_failures == 0


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_is_disabled_after_n_consecutive_failures(
    admin, alice, receiver, local_targets, job_queue, settings
):
    settings.KEFU_WEBHOOKS_DISABLE_AFTER = 3
    create_endpoint(admin, receiver.url, ["ticket.created"])
    receiver.decide = lambda request: 500
    for _ in range(3):
        file_ticket(alice)
    drain()
    endpoint = Endpoint.objects.get()
    assert not endpoint.is_active and endpoint.consecutive_failures == 3 and "3" in endpoint.disabled_reason
    # Disabled: nothing more is sent, and new events write no deliveries for it.
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    sweep_webhooks.call_local()
    drain()
    file_ticket(alice)
    assert len(receiver.requests) == 3 and Delivery.objects.count() == 3
    # Enabled again: the pending deliveries go out.
    receiver.decide = lambda request: 200
    actions.do_enable_endpoint(endpoint=endpoint, actor=admin)
    drain()
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_delivery_that_keeps_failing_stops_after_the_maximum_and_can_be_replayed(
    admin, alice, receiver, local_targets, job_queue, settings
):
    settings.KEFU_WEBHOOKS_MAX_ATTEMPTS = 2
    endpoint = create_endpoint(admin, receiver.url, ["ticket.created"])
    receiver.decide = lambda request: 500
    file_ticket(alice)
    drain()
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    sweep_webhooks.call_local()
    drain()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.FAILED, 2, None)
    receiver.decide = lambda request: 200
    assert actions.do_replay(delivery_ids=[delivery.pk], actor=admin) == 1
    drain()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    verified(endpoint["secret"], receiver.requests[-1])


@pytest.mark.django_db(transaction=True)
def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(
    admin, alice, receiver, local_targets, job_queue
):
    old = create_endpoint(admin, receiver.url, ["ticket.created"])
    new = bearer(admin).post(f"/api/v1/webhooks/{old['id']}/rotate").json()
    file_ticket(alice)
    drain()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verified(old["secret"], request)
    verified(new["secret"], request)
    Endpoint.objects.update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    file_ticket(alice)
    drain()
    request = receiver.requests[-1]
    verified(new["secret"], request)
    with pytest.raises(WebhookVerificationError):
        verified(old["secret"], request)


@pytest.mark.django_db(transaction=True)
def test_send_time_check_refuses_a_private_target_and_follows_no_redirect(
    admin, alice, receiver, job_queue, settings
):
    settings.KEFU_WEBHOOKS_ALLOW_PRIVATE = True
    create_endpoint(admin, receiver.url.replace("127.0.0.1", "localhost"), ["ticket.created"])
    settings.KEFU_WEBHOOKS_ALLOW_PRIVATE = False  # e.g. DNS now answers a private address
    file_ticket(alice)
    drain()
    delivery = Delivery.objects.get()
    assert not receiver.requests and delivery.status == DeliveryStatus.PENDING
    assert "Private" in delivery.last_error or "私有" in delivery.last_error

    settings.KEFU_WEBHOOKS_ALLOW_PRIVATE = True
    receiver.decide = lambda request: 302 if request.path == "/hook" else 200
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    sweep_webhooks.call_local()
    drain()
    assert [r.path for r in receiver.requests] == ["/hook"]  # the redirect is not followed
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_announces_nothing_and_a_bot_stage_case_is_not_a_ticket(
    admin, receiver, local_targets, job_queue
):
    from kefu.tickets.stages import do_open_bot_case

    create_endpoint(admin, receiver.url, ["*"])
    customer = make_user("carol@example.com")
    with pytest.raises(RuntimeError), transaction.atomic():
        file_ticket(customer)
        raise RuntimeError("the request failed after the ticket")
    assert not Ticket.objects.exists() and not Delivery.objects.exists()
    do_open_bot_case(customer=customer, language="en")
    drain()
    assert not Delivery.objects.exists() and not receiver.requests


@pytest.mark.django_db(transaction=True)
def test_the_admin_test_button_sends_a_signed_test_event_and_the_log_shows_it(
    receiver, local_targets, job_queue, settings
):
    from kefu.accounts.models import User
    from kefu.mail.tests.conftest import admin_client

    client = admin_client()

    user = User.objects.get(email="admin@kefu.example")
    endpoint, secret = actions.do_create_endpoint(url=receiver.url, events=["ticket.created"], actor=user)
    url = reverse("admin:webhooks_endpoint_changelist")
    page = client.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200 and secret in page.content.decode()
    answer = client.post(url, {"action": "send_test", "_selected_action": [endpoint.pk]})
    assert answer.status_code == 302
    drain()
    [request] = receiver.requests
    assert verified(secret, request)["type"] == "webhook.test"
    log = client.get(reverse("admin:webhooks_delivery_changelist"))
    assert log.status_code == 200 and "webhook.test" in log.content.decode()
    # Saving a private URL in the admin is refused like in the API.
    settings.KEFU_WEBHOOKS_ALLOW_PRIVATE = False
    settings_off = client.post(
        reverse("admin:webhooks_endpoint_add"),
        {"url": "http://169.254.169.254/", "events": ["ticket.created"], "is_active": "on"},
    )
    assert settings_off.status_code == 200 and Endpoint.objects.count() == 1


@pytest.mark.django_db
def test_old_delivered_and_failed_deliveries_leave_the_log_and_pending_ones_stay(
    admin, local_targets, settings
):
    settings.KEFU_WEBHOOKS_KEEP_DAYS = 30
    endpoint, _secret = actions.do_create_endpoint(url="http://127.0.0.1:9/h", events=["*"], actor=admin)
    old = timezone.now() - timedelta(days=31)
    for n, status in enumerate(
        [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.PENDING, DeliveryStatus.DELIVERED]
    ):
        Delivery.objects.create(
            endpoint=endpoint, message_id=f"msg_{n}", event_type="ticket.created", body="{}", status=status
        )
    Delivery.objects.exclude(message_id="msg_3").update(created_at=old)
    assert actions.purge_old_deliveries() == 2
    assert sorted(Delivery.objects.values_list("message_id", flat=True)) == ["msg_2", "msg_3"]
    settings.KEFU_WEBHOOKS_KEEP_DAYS = 0
    Delivery.objects.update(created_at=old, status=DeliveryStatus.DELIVERED)
    assert actions.purge_old_deliveries() == 0 and Delivery.objects.count() == 2


def test_payload_json_is_compact_and_carries_the_version():
    from kefu.webhooks.payloads import envelope

    assert json.loads(json.dumps(envelope("ticket.created", {"x": 1})))["version"] == 1


def test_config_check_warns_about_private_targets_in_production_and_a_timeout_past_the_retry():
    from kefu import conf

    environ = {
        "KEFU_BASE_URL": "https://support.example",
        "KEFU_SECURE_COOKIES": "1",
        "KEFU_WEBHOOKS_ALLOW_PRIVATE": "1",
        "KEFU_WEBHOOKS_TIMEOUT": "30",
        "KEFU_WEBHOOKS_RETRY_SECONDS": "30",
    }
    found = {problem.name: problem for problem in conf.check(environ)}
    assert not found["KEFU_WEBHOOKS_ALLOW_PRIVATE"].severe and not found["KEFU_WEBHOOKS_TIMEOUT"].severe
    defaults = {problem.name for problem in conf.check({"KEFU_BASE_URL": "https://support.example"})}
    assert not {"KEFU_WEBHOOKS_ALLOW_PRIVATE", "KEFU_WEBHOOKS_TIMEOUT"} & defaults
