"""Every main page under the Content-Security-Policy in Chromium: no violation, no script error.

Runs on the real ASGI server (the chat widget's WebSocket included) so that whatever a page
loads or runs is checked against the header the server really sends.
"""

from __future__ import annotations

import pyotp
import pytest

from kefu.accounts.models import Role
from kefu.conftest import browser_login, make_user
from kefu.helpcenter.actions import sync_articles_from_content
from kefu.helpcenter.models import Article
from kefu.identity.sealed import seal
from kefu.tickets.actions import check_create_ticket
from kefu.tickets.models import Category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch(page, problems: list[str]) -> None:
    """Collect CSP reports and script errors of ``page``."""

    def on_console(message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text or "Refused to" in text:
            problems.append(f"{page.url}: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))


def visit(page, url: str, problems: list[str], *, then=None) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 400, (url, response and response.status)
    assert "script-src 'self'" in response.headers.get("content-security-policy", ""), url
    if then is not None:
        then(page)
    page.wait_for_load_state("networkidle")


def test_main_pages_run_under_the_policy_without_violations(browser, asgi_server):
    url = asgi_server.url
    sync_articles_from_content()
    article = Article.objects.filter(language="zh-hans").first()
    alice = make_user("alice@example.com")
    make_user("agent.li@example.com", Role.AGENT, ("general", "assets", "accounts"))
    admin = make_user("root@example.com", Role.ADMIN)
    secret = pyotp.random_base32()
    admin.totp_secret, admin.totp_enabled = seal(secret), True
    admin.save()
    category = Category.objects.get(slug="deposit-not-credited")
    ticket = check_create_ticket(
        customer=alice, category=category, title="USDT 未到账", description="两小时了还没到。"
    ).ticket
    problems: list[str] = []

    anonymous = browser.new_context(locale="zh-CN")
    page = anonymous.new_page()
    page.set_default_timeout(20000)
    watch(page, problems)
    visit(page, f"{url}/", problems)
    visit(page, f"{url}/help/a/{article.slug}/", problems)
    visit(page, f"{url}/help/search/?q=充值没到账", problems)
    visit(page, f"{url}/help/announcements/", problems)
    visit(page, f"{url}/chat/hours/", problems)
    visit(page, f"{url}/verify/", problems)
    visit(page, f"{url}/accounts/login/", problems)
    visit(page, f"{url}/admin/login/", problems)
    anonymous.close()

    customer_ctx, customer = browser_login(browser, url, alice.email)
    watch(customer, problems)

    def open_chat(page) -> None:  # the chat widget: open it and talk to the bot over the socket
        page.click("#kefu-bot .bot-toggle")
        page.fill("#kefu-bot input[name=text]", "你好")
        page.press("#kefu-bot input[name=text]", "Enter")
        page.wait_for_function(
            "() => document.querySelectorAll('#kefu-bot .bot-bot').length >= 2", timeout=30000
        )

    visit(customer, f"{url}/", problems, then=open_chat)
    visit(customer, f"{url}/portal/", problems)
    visit(customer, f"{url}/portal/new/", problems)
    visit(customer, f"{url}/portal/tickets/{ticket.case_number}/", problems)
    visit(customer, f"{url}/identity/verify/", problems)
    visit(customer, f"{url}/identity/freeze/", problems)
    customer_ctx.close()

    agent_ctx, agent = browser_login(browser, url, "agent.li@example.com")
    watch(agent, problems)
    visit(agent, f"{url}/workspace/", problems)

    def use_canned_and_status(page) -> None:  # the handlers that used to be inline
        if page.locator("#canned option").count() > 1:
            page.select_option("#canned", index=1)
            assert page.input_value("#id_body")

    visit(agent, f"{url}/workspace/tickets/{ticket.case_number}/", problems, then=use_canned_and_status)
    visit(agent, f"{url}/chat/workspace/", problems)
    visit(agent, f"{url}/accounts/2fa/setup/", problems)  # the QR code is inline SVG
    agent_ctx.close()

    make_user("supervisor@example.com", Role.SUPERVISOR)
    supervisor_ctx, supervisor = browser_login(browser, url, "supervisor@example.com")
    watch(supervisor, problems)
    visit(supervisor, f"{url}/chat/supervisor/", problems)
    supervisor_ctx.close()

    admin_ctx, admin_page = browser_login(browser, url, admin.email)
    watch(admin_page, problems)
    admin_page.fill("input[name=code]", pyotp.TOTP(secret).now())
    admin_page.click("button[type=submit]")
    admin_page.wait_for_load_state("networkidle")
    visit(admin_page, f"{url}/admin/", problems)
    visit(admin_page, f"{url}/admin/accounts/user/", problems)
    visit(admin_page, f"{url}/admin/accounts/user/{alice.pk}/change/", problems)
    admin_ctx.close()

    assert problems == [], "\n".join(problems)


def test_an_injected_inline_script_is_blocked(browser, asgi_server):
    """What the policy is for: markup that slips into a page cannot run script."""
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    watch(page, problems)
    page.goto(f"{asgi_server.url}/")
    result = page.evaluate(
        """() => new Promise((resolve) => {
        const s = document.createElement('script'); s.textContent = 'window.pwned2 = 1';
        document.body.appendChild(s);  // an allowed script would have run by now
        const d = document.createElement('div');
        d.innerHTML = '<img src="/no-such-image.png" onerror="window.pwned = 1">';
        // Our listener comes after the attribute's handler: when it runs, that one had its turn.
        d.firstChild.addEventListener('error', () => resolve([window.pwned, window.pwned2]));
        document.body.appendChild(d); })"""
    )
    assert result == [None, None]
    # ...and the browser reported it, as the page test above would catch it.
    assert any("Content Security Policy" in problem for problem in problems), problems
    context.close()
