"""End to end in headless Chromium: a customer verifies by email code and freezes their account."""

from __future__ import annotations

import pytest

from kefu.conftest import browser_login, make_user
from kefu.identity.tests.conftest import last_mailed_code
from kefu.tickets.models import Priority, Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_customer_verifies_and_freezes_a_stolen_account(browser, live_server):
    make_user("alice@example.com")
    context, page = browser_login(browser, live_server.url, "alice@example.com", locale="en-US")

    page.goto(f"{live_server.url}/identity/freeze/")
    page.click("#freeze-verify")
    page.wait_for_selector("#identity-send-form")
    assert "a***e@example.com" in page.inner_text("#identity-send-form")
    page.click("#identity-send-form button[type=submit]")
    page.wait_for_selector("#identity-code-form")
    page.fill("#identity-code-form input[name=code]", last_mailed_code())
    page.click("#identity-code-form button[type=submit]")

    page.wait_for_selector("#freeze-form")
    page.fill("#freeze-form textarea[name=reason]", "A sign-in alert from a device I do not own.")
    page.check("#freeze-form input[name=confirm]")
    page.click("#freeze-form button[type=submit]")
    page.wait_for_selector("#freeze-done")

    ticket = Ticket.objects.get()
    assert ticket.case_number in page.inner_text("#freeze-done")
    assert ticket.priority == Priority.URGENT and ticket.team.slug == "security"
    context.close()
