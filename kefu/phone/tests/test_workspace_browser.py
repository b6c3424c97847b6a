"""The agent's workspace opens the case when their phone rings for a hotline call (issue 14,
item 7): headless Chromium signed in as the agent on the live chat console (its live
connection), a simulated call reaching the queue, the sweep ringing that agent, and the case —
caller, menu choices, identity status — appearing on the agent's page, in the page's language."""

from __future__ import annotations

import json
import re

import pytest
from django.core import mail

from kefu.accounts.models import Role
from kefu.chat.tests.conftest import asgi_server, set_online  # noqa: F401 - asgi_server is a fixture
from kefu.conftest import browser_login, make_user
from kefu.phone.actions import do_sweep_queue
from kefu.phone.models import AgentLine
from kefu.phone.tests.conftest import CALLER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AGENT_LINE = "+8613511112222"


def mailed_code() -> str:
    match = re.search(r"\b(\d{6})\b", str(mail.outbox[-1].body))
    assert match
    return match.group(1) + "#"


@pytest.mark.parametrize(
    ("locale", "ringing", "drafting"),
    [
        ("zh-CN", "您的电话正在响铃：热线来电", False),
        ("en-US", "Your phone is ringing: a hotline call", True),
    ],
)
def test_the_workspace_opens_the_case_when_the_agents_phone_rings(
    browser,
    asgi_server,  # noqa: F811 - the fixture imported above
    make_call,
    provider,
    locale,
    ringing,
    drafting,
):
    customer = make_user("caller@example.com")
    customer.phone = CALLER
    customer.save(update_fields=["phone"])
    agent = make_user("phone-agent@example.com", Role.AGENT, ("general", "accounts", "assets", "security"))
    agent.language = "en" if locale.startswith("en") else "zh-hans"
    agent.save(update_fields=["language"])
    set_online(agent, capacity=3)
    url = asgi_server.url
    context, page = browser_login(browser, url, agent.email, locale=locale)
    page.goto(f"{url}/chat/workspace/")
    page.wait_for_function("() => document.getElementById('cc-load').textContent !== ''")  # welcomed
    assert page.is_hidden("#cc-call")
    strings = json.loads(page.get_attribute("#chat-console", "data-i18n") or "{}")
    seen: dict[str, object] = {}

    def the_sweep_rings_the_agent_while_the_caller_waits() -> str:
        # No line when the call queued, so nobody was rung then; now the agent can take calls.
        assert not [c for c in provider.calls if "/phone/twilio/connect/" in c["Url"]]
        AgentLine.objects.create(user=agent, address=AGENT_LINE)
        if drafting:  # a reply being typed must not lose the agent's focus
            page.evaluate("() => { const t = document.getElementById('cc-text'); t.value = 'draft'; }")
        assert do_sweep_queue() == 1
        page.wait_for_selector("#cc-call:not([hidden]) a.cc-call-case")
        seen["heading"] = page.inner_text("#cc-call h3")
        seen["labels"] = page.locator("#cc-call dt").all_inner_texts()
        seen["values"] = page.locator("#cc-call dd").all_inner_texts()
        seen["href"] = page.get_attribute("#cc-call a.cc-call-case", "href")
        seen["focused"] = page.evaluate("() => document.activeElement.closest('#cc-call') !== null")
        seen["banner"] = page.inner_text("#cc-banner") if page.is_visible("#cc-banner") else ""
        seen["draft"] = page.input_value("#cc-text")
        return ""

    # Deposits (1), the one-time code mailed to the account's address, then the queue.
    result = make_call(["", "1", mailed_code, the_sweep_rings_the_agent_while_the_caller_waits])
    rung = [c["To"] for c in provider.calls if "/phone/twilio/connect/" in c["Url"]]
    assert rung == [AGENT_LINE]
    ticket = result.call.ticket
    assert ticket is not None and result.call.verified_at is not None
    assert seen["heading"] == ringing == strings["phone_ringing"]
    assert seen["labels"] == [
        strings["phone_case"],
        strings["phone_title"],
        strings["phone_caller"],
        strings["phone_menu"],
        strings["identity"],
    ]
    values = seen["values"]
    assert isinstance(values, list)
    assert values[0] == ticket.case_number and values[1] == ticket.title and values[2] == CALLER
    topic = "deposits and withdrawals" if locale.startswith("en") else "充值和提现"
    assert values[3] == f"1 · {topic}"
    assert values[4] == strings["phone_verified"]
    assert seen["href"] == f"/workspace/tickets/{ticket.case_number}/"
    if drafting:
        # The banner links the case; the draft and its focus stay.
        assert ticket.case_number in str(seen["banner"]) and seen["focused"] is False
        assert seen["draft"] == "draft"
    else:
        assert seen["focused"] is True and seen["banner"] == ""
    context.close()
