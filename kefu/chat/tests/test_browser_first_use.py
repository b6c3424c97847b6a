"""A first customer and agent in headless Chromium (issue 11, items 11, 12 and 16).

Hidden controls stay hidden, Enter sends (never mid-composition), the seed-phrase warning is
shown once, the agent sees one identity status, and a hand-off survives signing in and follows
the customer to another browser and another tab.
"""

from __future__ import annotations

import json

import pytest
from mnemonic import Mnemonic
from playwright.sync_api import expect

from kefu.chat.models import ChatConversation
from kefu.chat.tests.conftest import queued_chat, set_online
from kefu.conftest import PASSWORD, browser_login, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A synthetic Enter as an input method sends it while the customer is still composing Chinese.
COMPOSING_ENTER = """(selector) => !document.querySelector(selector).dispatchEvent(new KeyboardEvent("keydown",
    {key: "Enter", code: "Enter", keyCode: 229, isComposing: true, bubbles: true, cancelable: true}))"""


def test_hidden_controls_enter_to_send_one_warning_and_one_identity_status(browser, asgi_server):
    make_user("alice@example.com")
    # Also on the security team: a chat in which the guard hid a secret is routed there.
    agent_li = make_user("agent.li@example.com", "agent", ("general", "security"))
    set_online(agent_li, capacity=1)
    queued_chat(make_user("bob@example.com"), intent="contact_human")  # busy: Alice will wait
    url = asgi_server.url

    customer_ctx, customer = browser_login(browser, url, "alice@example.com")
    customer.goto(f"{url}/")
    customer.click("#kefu-bot .bot-toggle")
    customer.wait_for_selector("#kefu-bot .bot-bot")
    # A conversation with the bot only: nothing to end.
    assert customer.is_hidden("#kefu-bot .bot-end")
    # An Enter that confirms an input method's composition does not send.
    assert customer.evaluate(COMPOSING_ENTER, "#kefu-bot input[name=text]")

    customer.fill("#kefu-bot input[name=text]", Mnemonic("english").generate(128))
    customer.press("#kefu-bot input[name=text]", "Enter")
    customer.wait_for_selector("#kefu-bot .bot-bot >> nth=1", timeout=30000)  # the bot's answer
    customer.wait_for_selector("#kefu-bot .bot-me:not(.pending)")
    assert customer.locator("#kefu-bot .bot-warning").count() == 1
    # A seed phrase that reached us is a security matter: the bot hands the conversation to
    # the security team at once (a chat with a human now, so it can be ended).
    customer.wait_for_selector("#kefu-bot .bot-queue .bot-position", timeout=30000)
    assert customer.is_visible("#kefu-bot .bot-end")

    agent_ctx, agent = browser_login(browser, url, "agent.li@example.com")
    agent.goto(f"{url}/chat/workspace/")
    agent.click("#cc-queue li:has-text('alice@example.com') span")  # look before taking it
    agent.wait_for_selector("#cc-accept", state="visible")
    agent.click("#cc-accept")
    # Already theirs: no Accept button any more, and the chat's controls are theirs.
    agent.wait_for_selector("#cc-accept", state="hidden")
    expect(agent.locator("#cc-close")).to_be_enabled()
    expect(agent.locator("#cc-convert")).to_be_enabled()
    agent.wait_for_selector("#cc-mine li:has-text('alice@example.com')")
    agent.wait_for_selector("#cc-log .cc-customer:has-text('已隐藏')")  # the phrase, hidden
    agent.wait_for_function("() => document.querySelectorAll('#cc-queue .cc-accept').length === 0")

    # One identity status, under one heading.
    agent.wait_for_selector("#cc-context dl.cc-context")
    strings = json.loads(agent.get_attribute("#chat-console", "data-i18n"))
    labels = agent.locator("#cc-context dt").all_inner_texts()
    assert strings["identity"] in labels and strings["not_verified"] not in labels
    assert agent.locator(f"#cc-context dd:text-is('{strings['not_verified']}')").count() == 1

    # Shift+Enter: a new line; Enter: send. An Enter inside a composition sends nothing.
    agent.click("#cc-text")
    agent.keyboard.type("第一行")
    agent.keyboard.press("Shift+Enter")
    agent.keyboard.type("第二行")
    assert agent.input_value("#cc-text") == "第一行\n第二行"
    agent.evaluate(COMPOSING_ENTER, "#cc-text")  # the input method's to handle: nothing sent
    assert agent.input_value("#cc-text") == "第一行\n第二行"
    agent.keyboard.press("Enter")
    reply = customer.wait_for_selector("#kefu-bot .bot-agent:has-text('第二行')")
    assert "第一行" in reply.inner_text()
    assert agent.input_value("#cc-text") == ""
    assert customer.locator("#kefu-bot .bot-agent").count() == 1

    # The customer ends the chat with the human.
    customer.click("#kefu-bot .bot-end")
    customer.wait_for_selector("#kefu-bot .bot-end", state="hidden")
    assert ChatConversation.objects.get(customer__email="alice@example.com").status == "closed"
    customer_ctx.close()
    agent_ctx.close()


def _sign_in_here(page, email: str) -> None:
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_a_hand_off_survives_signing_in_and_follows_the_customer(browser, asgi_server):
    make_user("alice@example.com")
    agent_li = make_user("agent.li@example.com", "agent", ("general",))
    set_online(agent_li, capacity=1)
    queued_chat(make_user("bob@example.com"), intent="contact_human")  # busy: Alice will wait
    url = asgi_server.url

    # Signed out: the bot asks her to sign in first.
    visitor_ctx = browser.new_context(locale="zh-CN")
    page = visitor_ctx.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{url}/")
    page.click("#kefu-bot .bot-toggle")
    page.wait_for_selector("#kefu-bot .bot-bot")
    page.fill("#kefu-bot input[name=text]", "转人工")
    page.press("#kefu-bot input[name=text]", "Enter")
    page.click("#kefu-bot .bot-signin", timeout=30000)
    _sign_in_here(page, "alice@example.com")

    # Back on the page: the hand-off went ahead by itself, and "sign in" is gone.
    strings = json.loads(page.get_attribute("#kefu-bot", "data-i18n"))
    position = page.wait_for_selector("#kefu-bot .bot-queue .bot-position", timeout=30000)
    assert position.inner_text() == strings["position"].replace("{n}", "1")
    assert page.locator("#kefu-bot .bot-signin").count() == 0
    chat = ChatConversation.objects.get(customer__email="alice@example.com")
    assert chat.status == "queued"

    # Another browser (another device): the same chat, with its history, no click needed.
    other_ctx, other = browser_login(browser, url, "alice@example.com")
    other.goto(f"{url}/portal/")
    other.wait_for_selector("#kefu-bot .bot-queue .bot-position")
    other.wait_for_selector("#kefu-bot .bot-me:has-text('转人工')")
    assert ChatConversation.objects.filter(customer__email="alice@example.com").count() == 1

    # A tab of the first browser that was open before: it shows the chat too.
    stale = visitor_ctx.new_page()
    stale.goto(f"{url}/help/")
    stale.wait_for_selector("#kefu-bot .bot-queue .bot-position")

    # The agent takes it; every place the customer is sees the agent.
    agent_ctx, agent = browser_login(browser, url, "agent.li@example.com")
    agent.goto(f"{url}/chat/workspace/")
    agent.click("#cc-queue li:has-text('alice@example.com') .cc-accept")
    agent.click("#cc-mine li:has-text('alice@example.com')")
    agent.wait_for_selector("#cc-log .cc-customer:has-text('转人工')")
    agent.fill("#cc-text", "您好，我是小李")
    agent.press("#cc-text", "Enter")
    for where in (page, other, stale):
        where.wait_for_selector("#kefu-bot .bot-agent:has-text('我是小李')")
    visitor_ctx.close()
    other_ctx.close()
    agent_ctx.close()


def test_a_chat_started_in_one_tab_appears_in_a_tab_already_open(browser, asgi_server):
    make_user("alice@example.com")
    set_online(make_user("agent.li@example.com", "agent", ("general",)), capacity=1)
    queued_chat(make_user("bob@example.com"), intent="contact_human")
    url = asgi_server.url
    context, first = browser_login(browser, url, "alice@example.com")
    second = context.new_page()
    second.set_default_timeout(15000)
    for page in (first, second):
        page.goto(f"{url}/")
    assert second.is_hidden("#kefu-bot .bot-panel")
    first.click("#kefu-bot .bot-toggle")
    first.wait_for_selector("#kefu-bot .bot-bot")
    first.fill("#kefu-bot input[name=text]", "转人工")
    first.press("#kefu-bot input[name=text]", "Enter")
    first.wait_for_selector("#kefu-bot .bot-queue .bot-position", timeout=30000)
    second.wait_for_selector("#kefu-bot .bot-queue .bot-position")
    second.wait_for_selector("#kefu-bot .bot-me:has-text('转人工')")
    context.close()
