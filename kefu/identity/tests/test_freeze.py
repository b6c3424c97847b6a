"""The emergency freeze (冻结账户) and the specialist's unfreeze."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kefu.accounts.models import Role
from kefu.audit.models import AuditEvent
from kefu.conftest import bearer, login, make_user
from kefu.identity import actions, selectors
from kefu.identity.exceptions import VerificationRequired
from kefu.identity.tests.conftest import last_mailed_code
from kefu.tickets.models import MessageKind, Priority, Ticket
from kefu.wallet.backend import AccountStatus, WalletBackendError, get_wallet_backend
from kefu.wallet.demo import DemoWalletBackend

pytestmark = pytest.mark.django_db


def verify(user, *, now=None):
    challenge = actions.check_send_code(user=user, channel="email", now=now)
    return actions.check_verify_code(
        user=user, challenge_id=challenge.public_id, code=last_mailed_code(), now=now
    )


def wallet_state(user):
    backend = get_wallet_backend()
    return backend.account_state(selectors.wallet_uid_for(user, backend))


def test_a_freshly_verified_customer_freezes_at_once(alice):
    """Backend frozen, an URGENT ticket in the security team's queue, and the audit log says so."""
    verify(alice)
    outcome = actions.do_request_freeze(
        customer=alice, reason="我收到了不是我本人的登录提醒", language="zh-hans", ip_address="203.0.113.9"
    )

    assert outcome.frozen and outcome.created
    assert wallet_state(alice).status == AccountStatus.FROZEN
    ticket = outcome.ticket
    assert ticket.priority == Priority.URGENT
    assert ticket.category.slug == "account-compromised"
    assert ticket.team.slug == "security"
    assert ticket.customer == alice
    assert "我收到了不是我本人的登录提醒" in ticket.description
    event = AuditEvent.objects.get(action="identity.frozen")
    assert event.target_id == str(alice.public_id) and event.data["ticket"] == ticket.case_number
    assert event.ip_address == "203.0.113.9"


def test_freezing_needs_a_verification_from_the_last_ten_minutes(alice):
    with pytest.raises(VerificationRequired):
        actions.do_request_freeze(customer=alice)
    earlier = timezone.now() - timedelta(minutes=11)
    verify(alice, now=earlier)
    with pytest.raises(VerificationRequired):
        actions.do_request_freeze(customer=alice)
    assert wallet_state(alice).status == AccountStatus.ACTIVE
    assert not Ticket.objects.exists()


def test_freezing_twice_reuses_the_open_ticket(alice):
    verify(alice)
    first = actions.do_request_freeze(customer=alice)
    second = actions.do_request_freeze(customer=alice)
    assert second.ticket == first.ticket and not second.created and second.frozen
    assert Ticket.objects.count() == 1


class BrokenWallet(DemoWalletBackend):
    def freeze(self, uid, *, reason, requested_by):
        raise WalletBackendError("connection refused")


def test_a_failing_wallet_backend_still_files_the_urgent_ticket(alice, settings):
    settings.KEFU_WALLET_BACKEND = "kefu.identity.tests.test_freeze.BrokenWallet"
    verify(alice)
    outcome = actions.do_request_freeze(customer=alice)
    assert not outcome.frozen
    assert outcome.ticket.priority == Priority.URGENT and outcome.ticket.team.slug == "security"
    assert AuditEvent.objects.filter(action="identity.freeze_failed").count() == 1


def test_a_seed_phrase_in_the_reason_never_reaches_the_wallet_backend(alice, settings):
    verify(alice)
    phrase = "abandon ability able about above absent absorb abstract absurd abuse access accident"
    actions.do_request_freeze(customer=alice, reason=f"my words are {phrase}", language="en")
    backend = DemoWalletBackend(settings.KEFU_WALLET_DEMO_FILE)
    stored = backend.path.read_text()
    assert "abandon ability" not in stored
    assert "abandon ability" not in Ticket.objects.get().description


def test_staff_cannot_freeze_through_the_customer_action(agent):
    with pytest.raises(PermissionDenied):
        actions.do_request_freeze(customer=agent)


def test_the_freeze_page_asks_to_verify_then_confirms(alice):
    client = login(alice)
    page = client.get("/identity/freeze/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'id="freeze-verify"' in page.content.decode()
    refused = client.post("/identity/freeze/", {"confirm": "yes"})
    assert refused.status_code == 400 and not Ticket.objects.exists()

    verify(alice)
    page = client.get("/identity/freeze/")
    assert 'id="freeze-form"' in page.content.decode()
    unconfirmed = client.post("/identity/freeze/", {"reason": "stolen"})
    assert unconfirmed.status_code == 400 and not Ticket.objects.exists()
    done = client.post("/identity/freeze/", {"confirm": "yes", "reason": "stolen"})
    assert done.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.case_number in done.content.decode()
    assert wallet_state(alice).is_frozen
    assert 'id="freeze-already"' in client.get("/identity/freeze/").content.decode()


def test_once_frozen_the_page_explains_how_to_unfreeze_and_offers_no_second_freeze(alice):
    """A frozen customer (still freshly verified) sees the frozen state, their case and the way
    back; not the form or the "freeze now" button."""
    client = login(alice)
    verify(alice)
    client.post("/identity/freeze/", {"confirm": "yes", "reason": "stolen"})
    ticket = Ticket.objects.get()

    html = client.get("/identity/freeze/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="freeze-already"' in html and "How to unfreeze" in html
    assert f'href="/portal/tickets/{ticket.case_number}/"' in html
    assert 'id="freeze-form"' not in html and "Freeze my account now" not in html
    assert 'id="freeze-verify"' not in html
    zh = client.get("/identity/freeze/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "How to unfreeze" not in zh


def test_the_freeze_api(alice):
    client = bearer(alice, language="en")
    refused = client.post("/api/v1/identity/freeze", {"confirm": True}, content_type="application/json")
    assert refused.status_code == 403
    verify(alice)
    unconfirmed = client.post("/api/v1/identity/freeze", {"reason": "x"}, content_type="application/json")
    assert unconfirmed.status_code == 400
    response = client.post(
        "/api/v1/identity/freeze", {"confirm": True, "reason": "x"}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["frozen"] is True and body["new_ticket"] is True
    assert Ticket.objects.get().case_number == body["case_number"]
    again = client.post("/api/v1/identity/freeze", {"confirm": True}, content_type="application/json")
    assert again.status_code == 200 and again.json()["case_number"] == body["case_number"]


# --- unfreeze -------------------------------------------------------------------------------


@pytest.fixture
def frozen_case(alice) -> Ticket:
    verify(alice, now=timezone.now() - timedelta(seconds=30))
    return actions.do_request_freeze(customer=alice).ticket


def test_an_agent_cannot_unfreeze(frozen_case, agent, supervisor):
    """Tier 1 is refused by the action and by the page, even with the ticket in view."""
    verify(frozen_case.customer)
    with pytest.raises(PermissionDenied):
        actions.do_unfreeze(ticket=frozen_case, specialist=agent, confirmed=True)
    response = login(agent).post(f"/identity/unfreeze/{frozen_case.case_number}/", {"confirm": "yes"})
    assert response.status_code in (403, 404)
    from kefu.accounts.actions import do_add_team_member
    from kefu.accounts.models import Team

    do_add_team_member(team=Team.objects.get(slug="security"), user=agent)
    response = login(agent).post(f"/identity/unfreeze/{frozen_case.case_number}/", {"confirm": "yes"})
    assert response.status_code == 403
    assert wallet_state(frozen_case.customer).is_frozen


def test_a_customer_cannot_reach_the_unfreeze_view(frozen_case, alice):
    verify(alice)
    response = login(alice).post(f"/identity/unfreeze/{frozen_case.case_number}/", {"confirm": "yes"})
    assert response.status_code == 404
    assert wallet_state(alice).is_frozen


def test_a_specialist_unfreezes_a_customer_who_verified_again(frozen_case, specialist):
    customer = frozen_case.customer
    client = login(specialist)
    url = f"/identity/unfreeze/{frozen_case.case_number}/"

    # The verification used for the freeze does not count: it predates the ticket.
    client.post(url, {"confirm": "yes"})
    assert wallet_state(customer).is_frozen
    with pytest.raises(VerificationRequired):
        actions.do_unfreeze(ticket=frozen_case, specialist=specialist, confirmed=True)

    verify(customer)
    with pytest.raises(ValidationError):  # the specialist must confirm
        actions.do_unfreeze(ticket=frozen_case, specialist=specialist, confirmed=False)
    response = client.post(url, {"confirm": "yes", "reason": "called back on the registered number"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/workspace/tickets/{frozen_case.case_number}/")
    assert wallet_state(customer).status == AccountStatus.ACTIVE
    event = AuditEvent.objects.get(action="identity.unfrozen")
    assert event.actor == specialist and event.data["ticket"] == frozen_case.case_number
    note = frozen_case.messages.filter(kind=MessageKind.INTERNAL).get()
    assert "called back" in note.body


def test_the_workspace_card_loads_the_account_state_and_the_unfreeze_form_separately(frozen_case, specialist):
    from django.template import Context, Template
    from django.test import RequestFactory

    url = f"/identity/account/{frozen_case.case_number}/"
    template = Template('{% include "identity/_status.html" with customer=ticket.customer %}')
    request = RequestFactory().get("/")
    request.user = specialist
    html = template.render(Context({"ticket": frozen_case, "request": request, "csrf_token": "t"}))
    assert 'id="identity-status-card"' in html and f'data-url="{url}"' in html
    assert 'id="unfreeze-form"' not in html  # not in the page itself: it comes with the state

    card = login(specialist).get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert card.status_code == 200 and "no-cache" in card["Cache-Control"]
    body = card.content.decode()
    assert "Frozen" in body and 'id="unfreeze-form"' in body and "csrfmiddlewaretoken" in body
    security_agent = make_user("sec-agent@example.com", Role.AGENT, ("security",))
    tier1 = login(security_agent).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Frozen" in tier1 and 'id="unfreeze-form"' not in tier1


def test_the_account_card_follows_the_ticket_permissions(frozen_case, alice):
    url = f"/identity/account/{frozen_case.case_number}/"
    assert login(alice).get(url).status_code == 404  # customers: never, not even their own
    outsider = make_user("outsider@example.com", Role.AGENT, ("general",))
    assert login(outsider).get(url).status_code == 404  # not their team's ticket


def test_a_wallet_outage_leaves_the_ticket_view_alone(frozen_case, specialist, settings):
    settings.KEFU_WALLET_BACKEND = "kefu.identity.tests.test_freeze.DownWallet"
    page = login(specialist).get(f"/workspace/tickets/{frozen_case.case_number}/")
    assert page.status_code == 200 and 'id="identity-status-card"' in page.content.decode()
    card = login(specialist).get(f"/identity/account/{frozen_case.case_number}/", HTTP_ACCEPT_LANGUAGE="en")
    assert card.status_code == 200 and "did not respond" in card.content.decode()


class DownWallet:
    """A wallet backend whose system is unreachable."""

    def find_customer(self, **_):
        raise WalletBackendError("down")

    def account_state(self, uid):
        raise WalletBackendError("down")

    def freeze(self, uid, **_):
        raise WalletBackendError("down")

    def unfreeze(self, uid, **_):
        raise WalletBackendError("down")


def test_the_status_snippet_needs_few_queries(frozen_case, specialist, django_assert_max_num_queries):
    from django.template import Context, Template
    from django.test import RequestFactory

    template = Template('{% include "identity/_status.html" with customer=ticket.customer %}')
    request = RequestFactory().get("/")
    request.user = specialist
    with django_assert_max_num_queries(1):
        template.render(Context({"ticket": frozen_case, "request": request, "csrf_token": "t"}))
