"""End to end in headless Chromium, over the real server and real WebSockets.

The customer chats with the bot, asks for a human, sees their place in the queue; an agent in
another browser context accepts the chat and replies; the customer sees the reply and rates
the chat.
"""

from __future__ import annotations

import json

import pytest

from kefu.chat.tests.conftest import queued_chat, set_online
from kefu.conftest import browser_login, make_user
from kefu.csat.models import CsatSurvey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bot_then_queue_then_agent_then_rating(browser, asgi_server):
    make_user("alice@example.com")
    agent_li = make_user("agent.li@example.com", "agent", ("general",))
    # Online, so live chat takes the hand-off, but busy with another customer: Alice waits.
    set_online(agent_li, capacity=1)
    queued_chat(make_user("bob@example.com"), intent="contact_human")
    url = asgi_server.url

    customer_ctx, customer = browser_login(browser, url, "alice@example.com")
    customer.goto(f"{url}/")
    customer.click("#kefu-bot .bot-toggle")
    strings = json.loads(customer.get_attribute("#kefu-bot", "data-i18n"))
    customer.wait_for_selector("#kefu-bot .bot-bot")  # the greeting, once the socket said welcome

    customer.fill("#kefu-bot input[name=text]", "你好")
    customer.press("#kefu-bot input[name=text]", "Enter")
    customer.wait_for_function("() => document.querySelectorAll('#kefu-bot .bot-bot').length >= 2", timeout=30000)

    customer.fill("#kefu-bot input[name=text]", "转人工")
    customer.press("#kefu-bot input[name=text]", "Enter")
    position = customer.wait_for_selector("#kefu-bot .bot-queue .bot-position", timeout=30000)
    assert position.inner_text() == strings["position"].replace("{n}", "1")

    agent_ctx, agent = browser_login(browser, url, "agent.li@example.com")
    agent.goto(f"{url}/chat/workspace/")
    agent.click("#cc-queue .cc-accept")
    agent.click("#cc-mine li:has-text('alice@example.com')")  # the console still shows Bob's chat
    agent.wait_for_selector("#cc-log .cc-customer:has-text('转人工')")
    agent.fill("#cc-text", "您好，我是客服小李，请问遇到什么问题？")
    agent.click("#cc-send")

    reply = customer.wait_for_selector("#kefu-bot .bot-agent:has-text('客服小李')")
    assert "请问遇到什么问题" in reply.inner_text()
    assert customer.is_hidden("#kefu-bot .bot-queue")

    agent.click("#cc-close")
    customer.wait_for_selector("#kefu-bot .bot-rating .bot-star")
    customer.click("#kefu-bot .bot-star[data-rating='5']")
    customer.fill("#kefu-bot .bot-rating textarea", "很耐心")
    customer.click("#kefu-bot .bot-rate-send")
    customer.wait_for_selector(f"#kefu-bot .bot-rating:has-text('{strings['thanks_rating']}')")

    survey = CsatSurvey.objects.get(customer__email="alice@example.com")
    assert (survey.rating, survey.comment, survey.agent.email) == (5, "很耐心", "agent.li@example.com")
    customer_ctx.close()
    agent_ctx.close()


def test_a_chat_handed_off_over_the_http_api_opens_from_its_link(browser, asgi_server):
    """The bot's HTTP API queues a chat and answers with its link; the link opens it in the panel."""
    from kefu.bot.actions import do_handle_message

    alice = make_user("alice@example.com")
    agent_li = make_user("agent.li@example.com", "agent", ("general",))
    set_online(agent_li, capacity=1)
    queued_chat(make_user("bob@example.com"), intent="contact_human")  # busy: Alice waits
    reply = do_handle_message(conversation=None, customer=alice, text="转人工", language="zh-hans")
    assert reply.handoff["kind"] == "chat"

    context, page = browser_login(browser, asgi_server.url, "alice@example.com")
    page.goto(asgi_server.url + reply.handoff["url"])
    page.wait_for_selector("#kefu-bot .bot-me:has-text('转人工')")  # the transcript came along
    position = page.wait_for_selector("#kefu-bot .bot-queue .bot-position")
    strings = json.loads(page.get_attribute("#kefu-bot", "data-i18n"))
    assert position.inner_text() == strings["position"].replace("{n}", "1")
    context.close()
