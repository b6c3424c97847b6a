"""The REST API contract used by acceptance checks."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.conftest import bearer
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db

NEW_TICKET = {
    "category": "deposit-not-credited",
    "title": "USDT not credited",
    "description": "Sent 100 USDT on TRC-20 two hours ago.",
    "coin": "usdt",
    "network": "TRC-20",
    "amount": "100.5",
    "tx_hash": "",
}


def test_openapi_schema_lists_the_endpoints():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/tickets",
        "/api/v1/tickets/{case_number}",
        "/api/v1/tickets/{case_number}/messages",
        "/api/v1/categories",
    ):
        assert path in schema["paths"], path


def test_categories_are_localized():
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/api/v1/categories").json()
    en = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/categories").json()
    zh_names = {c["slug"]: c["name"] for c in zh}
    en_names = {c["slug"]: c["name"] for c in en}
    assert zh_names["deposit-not-credited"] == "充值未到账"
    assert en_names["deposit-not-credited"] == "Deposit not credited"
    assert {c["slug"]: c["parent"] for c in zh}["otp"] == "account"


def test_create_ticket_returns_201_with_a_case_number(alice):
    response = bearer(alice, "en").post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get(case_number=body["case_number"])
    assert ticket.customer == alice and ticket.channel == "api" and ticket.coin == "USDT"
    assert body["amount"] == "100.5" and body["messages"][0]["body"] == NEW_TICKET["description"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", "未知的分类"), ("en", "Unknown category")],
)
def test_unknown_category_is_a_400_in_the_request_language(alice, language, expected):
    bad = {**NEW_TICKET, "category": "no-such-thing"}
    response = bearer(alice, language).post("/api/v1/tickets", bad, content_type="application/json")
    assert response.status_code == 400
    assert expected in response.json()["errors"]["category"][0]
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(("language", "expected"), [("zh-hans", "请"), ("en", "Please")])
def test_empty_fields_are_400_with_field_errors(alice, language, expected):
    bad = {**NEW_TICKET, "title": "", "description": "   "}
    response = bearer(alice, language).post("/api/v1/tickets", bad, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert expected in errors["title"][0] and "description" in errors


def test_missing_field_is_a_localized_400(alice):
    response = bearer(alice, "zh-hans").post(
        "/api/v1/tickets", {"category": "otp"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["title"] == ["这个字段是必填项。"]


def test_invalid_amount_and_bad_json_are_400(alice):
    client = bearer(alice, "en")
    response = client.post(
        "/api/v1/tickets", {**NEW_TICKET, "amount": "lots"}, content_type="application/json"
    )
    assert response.status_code == 400 and "amount" in response.json()["errors"]
    response = client.post("/api/v1/tickets", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_customers_list_only_their_own_tickets(alice, bob):
    a, b = bearer(alice), bearer(bob)
    case = a.post("/api/v1/tickets", NEW_TICKET, content_type="application/json").json()["case_number"]
    b.post("/api/v1/tickets", {**NEW_TICKET, "title": "bob's"}, content_type="application/json")
    assert [t["case_number"] for t in a.get("/api/v1/tickets").json()["items"]] == [case]
    assert [t["title"] for t in b.get("/api/v1/tickets").json()["items"]] == ["bob's"]


def test_someone_elses_ticket_is_404_not_403(alice, bob):
    case = (
        bearer(alice)
        .post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
        .json()["case_number"]
    )
    other = bearer(bob)
    assert other.get(f"/api/v1/tickets/{case}").status_code == 404
    response = other.post(f"/api/v1/tickets/{case}/messages", {"body": "hi"}, content_type="application/json")
    assert response.status_code == 404
    assert other.get("/api/v1/tickets/KF-20000101-00000000").status_code == 404


def test_thread_and_replies(alice, agent):
    client = bearer(alice)
    case = client.post("/api/v1/tickets", NEW_TICKET, content_type="application/json").json()["case_number"]
    staff = bearer(agent)
    assert (
        staff.post(
            f"/api/v1/tickets/{case}/messages",
            {"body": "Checking", "internal": True},
            content_type="application/json",
        ).status_code
        == 201
    )
    response = staff.post(
        f"/api/v1/tickets/{case}/messages", {"body": "Please send the TxID"}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["ticket_status"] == "pending_customer"
    response = client.post(
        f"/api/v1/tickets/{case}/messages", {"body": "here it is"}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["ticket_status"] == "open"
    thread = client.get(f"/api/v1/tickets/{case}").json()["messages"]
    assert [m["body"] for m in thread] == [NEW_TICKET["description"], "Please send the TxID", "here it is"]
    assert len(staff.get(f"/api/v1/tickets/{case}").json()["messages"]) == 4
    # a customer cannot write internal notes
    response = client.post(
        f"/api/v1/tickets/{case}/messages", {"body": "x", "internal": True}, content_type="application/json"
    )
    assert response.status_code == 403


def test_agents_list_their_teams_tickets(alice, agent, tech_agent):
    bearer(alice).post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
    assert len(bearer(agent).get("/api/v1/tickets").json()["items"]) == 1
    assert bearer(tech_agent).get("/api/v1/tickets").json()["items"] == []


def test_requests_without_a_valid_token_are_401():
    assert Client().get("/api/v1/tickets").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer kefu_nope").get("/api/v1/tickets").status_code == 401


def test_session_api_calls_need_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/tickets").status_code == 200
    response = client.post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
    assert response.status_code in (401, 403)
    assert Ticket.objects.count() == 0


def test_cursor_pagination_walks_every_ticket_once(alice):
    client = bearer(alice)
    for i in range(7):
        client.post("/api/v1/tickets", {**NEW_TICKET, "title": f"t{i}"}, content_type="application/json")
    seen, cursor = [], None
    while True:
        url = "/api/v1/tickets?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json()
        seen += [t["title"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"t{i}" for i in range(7)]
