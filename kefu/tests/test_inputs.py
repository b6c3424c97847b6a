"""Hostile input at the boundary (kefu.inputs): the same clear 4xx on SQLite and PostgreSQL, never
a 500, and nothing written by a request that fails."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from kefu.accounts.models import User
from kefu.conftest import bearer, login
from kefu.tickets import actions
from kefu.tickets.models import Category, Message, Ticket

pytestmark = pytest.mark.django_db

NEW_TICKET = {
    "category": "deposit-not-credited",
    "title": "USDT not credited",
    "description": "Sent 100 USDT.",
}


def post_json(client: Client, path: str, body: object | str):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data, content_type="application/json")


# --- numbers (issue 11, item 1) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", ["1e999999", "9" * 5000, "1e19", "99999999999999999999.5", "0.0000000000000000001", "NaN", "-1"]
)
def test_an_amount_the_column_cannot_hold_is_a_400_and_nothing_is_stored(alice, amount):
    client = bearer(alice, "en")
    response = post_json(client, "/api/v1/tickets", {**NEW_TICKET, "amount": amount})
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["amount"][0].startswith(("The amount can have", "Enter a valid amount"))
    assert Ticket.objects.count() == 0
    assert client.get("/api/v1/tickets").status_code == 200


def test_the_amount_error_is_translated(alice):
    response = post_json(bearer(alice, "zh-hans"), "/api/v1/tickets", {**NEW_TICKET, "amount": "1e999999"})
    assert response.status_code == 400 and "金额" in response.json()["errors"]["amount"][0]


@pytest.mark.parametrize("amount", ["9999999999999999999", "9999999999999999999.999999999999999999", "1e-18"])
def test_the_largest_amounts_allowed_are_stored_and_listed(alice, amount):
    client = bearer(alice, "en")
    response = post_json(client, "/api/v1/tickets", {**NEW_TICKET, "amount": amount})
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().amount is not None
    assert client.get("/api/v1/tickets").status_code == 200
    assert client.get(f"/api/v1/tickets/{response.json()['case_number']}").status_code == 200


def test_every_entry_point_refuses_an_amount_before_the_insert(alice):
    """Bot hand-off, mail and chat call the action directly: it checks the amount too."""
    with pytest.raises(ValidationError) as caught:
        actions.check_create_ticket(
            customer=alice,
            category=Category.objects.get(slug="deposit-not-credited"),
            title="t",
            description="d",
            amount=Decimal("1e999999"),
        )
    assert "amount" in caught.value.message_dict
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize("amount", ["1e999999", "99999999999999999999"])
def test_the_portal_form_refuses_an_amount_the_column_cannot_hold(alice, amount):
    category = Category.objects.get(slug="deposit-not-credited")
    response = login(alice).post(
        "/portal/new/", {"category": category.pk, "title": "t", "description": "d", "amount": amount}
    )
    assert response.status_code in (200, 400)
    assert response.context["form"].errors["amount"]
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize("priority", [-1, 0, 5, 99999, 2**63])
def test_an_agent_priority_outside_the_choices_is_a_400(agent, priority):
    response = post_json(bearer(agent, "en"), "/api/v1/tickets", {**NEW_TICKET, "priority": priority})
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["priority"] == ["The value is out of range."]
    assert Ticket.objects.count() == 0


def test_the_action_refuses_a_priority_outside_the_choices(alice):
    with pytest.raises(ValidationError) as caught:
        actions.check_create_ticket(
            customer=alice,
            category=Category.objects.get(slug="deposit-not-credited"),
            title="t",
            description="d",
            priority=-1,
        )
    assert "priority" in caught.value.message_dict


# --- NUL (item 5) ---------------------------------------------------------------------------------


def test_nul_is_stripped_from_ticket_text_and_replies(alice):
    client = bearer(alice, "en")
    response = post_json(
        client, "/api/v1/tickets", {**NEW_TICKET, "title": "USDT\u0000 lost", "description": "a\u0000b"}
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.title == "USDT lost" and ticket.description == "ab"
    reply = post_json(
        client, f"/api/v1/tickets/{ticket.case_number}/messages", {"body": "still\u0000 waiting"}
    )
    assert reply.status_code == 201, reply.content
    assert Message.objects.filter(ticket=ticket).last().body == "still waiting"


def test_nul_is_stripped_from_portal_forms(alice):
    category = Category.objects.get(slug="deposit-not-credited")
    response = login(alice).post(
        "/portal/new/", {"category": category.pk, "title": "USDT\x00 lost", "description": "a\x00b"}
    )
    assert response.status_code == 302, response.content[:500]
    assert Ticket.objects.get().title == "USDT lost"


def test_nul_in_the_bot_api_is_stripped(alice):
    response = post_json(bearer(alice, "en"), "/api/v1/bot/messages", {"text": "hello\u0000 there"})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "path",
    ["/chat/csat/a%00b/", "/api/v1/articles/a%00b", "/api/v1/tickets/a%00b", "/help/a/a%00b/", "/%00"],
)
def test_a_path_with_nul_is_a_404(alice, path):
    assert bearer(alice, "en").get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/help/search/?q=usdt%00",
        "/api/v1/articles/search?q=usdt%00",
        "/api/v1/tickets?status=open%00&cursor=%00",
    ],
)
def test_nul_in_a_query_string_is_stripped(alice, path):
    assert bearer(alice, "en").get(path).status_code == 200


# --- malformed JSON (item 6) ----------------------------------------------------------------------


def test_a_bot_conversation_id_that_is_not_a_uuid_is_a_404(alice):
    response = post_json(
        bearer(alice, "en"), "/api/v1/bot/messages", {"conversation_id": "xyz", "text": "hi"}
    )
    assert response.status_code == 404 and response.json()["detail"] == "No such conversation."


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/bot/messages"])
def test_a_lone_surrogate_is_a_400(alice, path):
    body = '{"category": "deposit-not-credited", "title": "\\ud800", "description": "x", "text": "\\udfff"}'
    response = post_json(bearer(alice, "en"), path, body)
    assert response.status_code == 400
    assert response.json()["detail"] == "The text contains an invalid character."
    assert Ticket.objects.count() == 0


def test_a_lone_surrogate_error_is_translated(alice):
    response = post_json(bearer(alice, "zh-hans"), "/api/v1/bot/messages", '{"text": "\\ud800"}')
    assert response.status_code == 400 and "字符" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/bot/messages", "/api/v1/identity/challenges"])
def test_deeply_nested_json_is_a_400(alice, path):
    response = post_json(bearer(alice, "en"), path, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert response.json()["detail"] == "The request is nested too deeply."


def test_deeply_nested_json_on_the_token_sign_in_is_a_400():
    response = post_json(Client(), "/identity/token", "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "body", ['{"text": 1e400}', '{"text": NaN}', '{"text": "a", "n": ' + "9" * 5000 + "}"]
)
def test_numbers_json_cannot_represent_are_a_400(alice, body):
    response = post_json(bearer(alice, "en"), "/api/v1/bot/messages", body)
    assert response.status_code == 400


# --- HEAD (item 10) -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/help/", "/api/v1/categories"])
def test_head_is_answered_wherever_get_is(path):
    get = Client().get(path)
    head = Client().head(path)
    assert get.status_code == 200
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Type"] == get["Content-Type"]


def test_head_on_a_post_only_endpoint_is_still_refused():
    assert Client().head("/identity/token").status_code == 405


def test_a_bot_slot_amount_the_column_cannot_hold_stays_in_the_transcript():
    from kefu.bot.handoff import ticket_fields

    assert ticket_fields({"amount": "9" * 20})["amount"] is None
    assert ticket_fields({"amount": "1e999999"})["amount"] is None
    assert ticket_fields({"amount": "12.5"})["amount"] == Decimal("12.5")


def _cursor(raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00|-99999999999999999999",
        "9999-12-31T23:59:59.999999+00:00|99999999999999999999999",
        "2020-01-01|5",
    ],
)
def test_a_forged_page_cursor_starts_from_the_first_page(alice, agent, raw):
    cursor = _cursor(raw)
    assert bearer(alice, "en").get(f"/api/v1/tickets?cursor={cursor}").status_code == 200
    assert login(alice).get(f"/portal/?cursor={cursor}").status_code == 200
    assert login(agent).get(f"/workspace/?cursor={cursor}").status_code == 200


_DEEP_UNDER_A_RAISED_LIMIT = """
import os, sys, threading
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
import django
django.setup()
from kefu import inputs
sys.setrecursionlimit(100_000)  # what importing py_ecc (web3, eth_account, eth-tester) does
refused = []
def parse():
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        try:
            inputs.loads(raw)
        except inputs.BadInput:
            refused.append(raw[:1])
worker = threading.Thread(target=parse)  # requests are parsed on worker threads
worker.start()
worker.join()
print("refused", len(refused))
"""


def test_deep_json_is_refused_even_where_a_library_raised_the_recursion_limit(tmp_path):
    """py_ecc raises the recursion limit to 100,000 when it is imported; the parser's C recursion
    then overflowed a worker thread's stack and killed the server (a segfault, not a 400)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _DEEP_UNDER_A_RAISED_LIMIT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip().endswith("refused 2")


def test_legitimate_json_with_many_brackets_still_parses():
    """The depth check counts nesting, not brackets, and ignores brackets inside strings."""
    from kefu import inputs

    many = "[" + ",".join(['{"x": [1, {"y": "]]]]"}]}'] * 200) + "]"
    assert len(inputs.loads(many)) == 200
    assert inputs.loads('{"a": "' + "[" * 100 + '"}') == {"a": "[" * 100}
    assert inputs.loads('{"a": "\\\\", "b": [[1]]}') == {"a": "\\", "b": [[1]]}
