"""Search for agents: exact lookups, Chinese and English full text, permissions, highlights."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.conftest import bearer, login, make_user
from kefu.tickets import actions, search
from kefu.tickets.models import Category, MessageKind, Ticket, TicketSearch

pytestmark = pytest.mark.django_db


def file(customer, title: str, body: str, *, category: str = "deposit-not-credited", **fields) -> Ticket:
    return actions.check_create_ticket(
        customer=customer,
        category=Category.objects.get(slug=category),
        title=title,
        description=body,
        **fields,
    ).ticket


def cases(user, query: str, **filters) -> list[str]:
    page = search.search_tickets(user, query, filters=search.Filters(**filters), size=50)
    return [hit.ticket.case_number for hit in page.hits]


def test_chinese_words_in_a_later_reply_find_the_ticket(alice, agent):
    """Every message is indexed when written, segmented: a phrase from the third message finds it."""
    ticket = file(alice, "充值问题", "我昨天充值了")
    other = file(alice, "提现问题", "提现一直没有到账")
    actions.check_add_message(ticket=ticket, author=agent, body="请提供您的交易哈希")
    actions.check_add_message(ticket=ticket, author=alice, body="链上显示已经确认，但是余额没有变化")
    assert cases(agent, "余额没有变化") == [ticket.case_number]
    assert cases(agent, "交易哈希") == [ticket.case_number]
    assert cases(agent, "没有到账") == [other.case_number]
    # Traditional characters find simplified text (the help centre's normalisation).
    assert cases(agent, "餘額") == [ticket.case_number]
    assert cases(agent, "余额 提现") == []  # every term must be present


def test_english_words_match_their_other_forms(alice, agent):
    ticket = file(alice, "Withdrawal stuck", "My withdrawals are pending since Monday")
    file(alice, "Deposit question", "Where is my deposit address?")
    assert cases(agent, "withdrawal pending") == [ticket.case_number]
    assert cases(agent, "WITHDRAWALS") == [ticket.case_number]


def test_title_matches_rank_above_message_matches(alice, agent):
    in_body = file(alice, "账户问题", "我的资金被冻结了")
    in_title = file(alice, "资金被冻结", "请帮忙看看")
    assert cases(agent, "冻结") == [in_title.case_number, in_body.case_number]


def test_exact_lookups(alice, bob, agent):
    """Case numbers with or without KF- and dashes, the customer's email and phone, hash, order."""
    ticket = file(alice, "订单问题", "订单没有完成", order_number="A20261207889")
    other = file(bob, "其他", "别的问题")
    number = ticket.case_number  # KF-YYYYMMDD-NNNNNNNN
    digits = number[3:].replace("-", "")
    for query in (number, number.lower(), number[3:], digits, "KF" + digits):
        assert cases(agent, query) == [number], query
    alice.phone = "+86 138 0013 8000"
    alice.save(update_fields=["phone"])
    assert cases(agent, "ALICE@example.com") == [number]
    assert cases(agent, "+86 138 0013 8000") == [number]
    assert cases(agent, "A20261207889") == [number]
    hash_ = "ab" * 32
    Ticket.objects.filter(pk=other.pk).update(tx_hash="0x" + hash_)
    assert cases(agent, "0x" + hash_.upper()) == [other.case_number]
    page = search.search_tickets(agent, number)
    assert page.match == "case_number"


def test_a_hash_or_address_in_a_message_is_found_by_full_text(alice, agent):
    ticket = file(alice, "地址", "我的地址是 TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE 请查一下")
    assert cases(agent, "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE") == [ticket.case_number]


def test_agents_find_only_what_they_may_see(alice, agent, tech_agent, supervisor):
    """The search applies the list's permissions: a tech agent does not find an assets ticket."""
    assets = file(alice, "充值未到账", "USDT 充值未到账", category="deposit-not-credited")
    assert cases(agent, "充值未到账") == [assets.case_number]
    assert cases(supervisor, "充值未到账") == [assets.case_number]
    assert cases(tech_agent, "充值未到账") == []
    assert cases(tech_agent, assets.case_number) == []  # not by case number either


def test_a_customer_never_searches_others_tickets_nor_internal_notes(alice, bob, agent):
    mine = file(alice, "我的充值", "充值未到账")
    file(bob, "鲍勃的充值", "充值未到账 secretword")
    actions.check_add_message(
        ticket=mine, author=agent, body="内部备注 escalatenow", kind=MessageKind.INTERNAL
    )
    assert cases(alice, "充值未到账") == [mine.case_number]
    assert cases(alice, "secretword") == []
    assert cases(alice, "bob@example.com") == []
    assert cases(alice, "escalatenow") == []  # the note is the agents' only
    assert cases(agent, "escalatenow") == [mine.case_number]
    response = bearer(alice).get("/api/v1/tickets", {"q": "充值未到账"})
    assert [item["case_number"] for item in response.json()["items"]] == [mine.case_number]
    assert bearer(alice).get("/api/v1/tickets", {"q": "escalatenow"}).json()["items"] == []


def test_highlights_are_escaped(alice, agent):
    """A <script> in a message is shown as text around the <mark>, never as markup."""
    ticket = file(
        alice, "<b>充值</b> 问题", "你好 <script>alert(1)</script> 充值未到账 <img src=x onerror=alert(2)>"
    )
    [hit] = search.search_tickets(agent, "充值未到账").hits
    assert hit.ticket == ticket
    assert "<script>" not in hit.snippet and "<img" not in hit.snippet and "<b>" not in hit.title
    assert "&lt;script&gt;" in hit.snippet and "<mark>充值未到账</mark>" in hit.snippet
    assert hit.title.startswith("&lt;b&gt;<mark>充值</mark>")
    page = login(agent).get(reverse("tickets:workspace"), {"q": "充值未到账"}).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "<mark>充值未到账</mark>" in page
    # The query itself is echoed (heading, search box, filter form, next-page link) escaped too.
    echoed = login(agent).get(reverse("tickets:workspace"), {"q": '"><script>alert(3)</script>'})
    assert "<script>alert(3)" not in echoed.content.decode()
    merge = login(agent).get(
        reverse("tickets:workspace_ticket", args=[ticket.case_number]),
        {"merge_q": "<script>alert(4)</script>"},
    )
    assert "<script>alert(4)" not in merge.content.decode()
    api = bearer(agent).get("/api/v1/tickets", {"q": "充值未到账"}).json()
    assert "&lt;script&gt;" in api["items"][0]["highlight"]["snippet"]


def test_search_filters(alice, agent):
    first = file(alice, "充值未到账", "第一笔")
    second = file(alice, "充值未到账", "第二笔", category="account-locked")
    actions.do_assign(ticket=second, actor=agent, assignee=agent)
    actions.do_set_priority(ticket=first, actor=agent, priority=4)
    assert set(cases(agent, "充值未到账")) == {first.case_number, second.case_number}
    assert cases(agent, "充值未到账", assignee="me") == [second.case_number]
    assert cases(agent, "充值未到账", assignee="none") == [first.case_number]
    assert cases(agent, "充值未到账", priority=4) == [first.case_number]
    assert cases(agent, "充值未到账", category="deposit-not-credited") == [first.case_number]
    assert cases(agent, "充值未到账", team="accounts") == [second.case_number]
    assert cases(agent, "充值未到账", status="closed") == []
    assert cases(agent, "充值未到账", channel="email") == []
    from django.utils import timezone

    today = timezone.localdate()
    assert len(cases(agent, "充值未到账", created_from=today, created_to=today)) == 2
    assert cases(agent, "充值未到账", created_to=today.replace(year=today.year - 1)) == []


def test_api_search_pages_with_the_cursor(alice, agent):
    made = {file(alice, f"充值未到账 {i}", "充值未到账").case_number for i in range(5)}
    client = bearer(agent)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"q": "充值未到账", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/tickets", params).json()
        seen += [item["case_number"] for item in body["items"]]
        assert all(item["match"] == "text" for item in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5


def test_search_page_queries_do_not_grow_with_page_size(settings, alice, agent):
    for i in range(8):
        ticket = file(alice, f"充值未到账 {i}", "充值未到账")
        actions.check_add_message(ticket=ticket, author=agent, body="正在处理充值")
    client = login(agent)
    url = reverse("tickets:workspace") + "?q=充值"

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    settings.KEFU_PAGE_SIZE = 2
    small = count()
    settings.KEFU_PAGE_SIZE = 8
    assert count() == small


def test_merge_picks_its_target_from_a_search(alice, bob, agent):
    """The ticket page offers the customer's matching tickets to merge into (not a typed number)."""
    duplicate = file(alice, "充值未到账", "又提交了一次")
    original = file(alice, "USDT 充值未到账", "第一次提交，哈希 abc")
    file(bob, "充值未到账", "别人的")
    client = login(agent)
    page = client.get(
        reverse("tickets:workspace_ticket", args=[duplicate.case_number]), {"merge_q": "第一次提交"}
    )
    body = page.content.decode()
    assert f'value="{original.case_number}"' in body
    assert body.count('name="target"') == 1  # not bob's, not itself
    response = client.post(
        reverse("tickets:workspace_action", args=[duplicate.case_number, "merge"]),
        {"target": original.case_number},
    )
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.merged_into == original
    # The moved messages are found on the surviving ticket now, and only there.
    assert cases(agent, "又提交了一次") == [original.case_number]


def test_backfill_indexes_tickets_from_before_search(alice, agent):
    ticket = file(alice, "历史工单", "很久以前的问题")
    TicketSearch.objects.all().delete()
    assert cases(agent, "很久以前") == []
    call_command("reindex_tickets", verbosity=0)
    assert cases(agent, "很久以前") == [ticket.case_number]
    # A reply to a ticket that was never indexed indexes its whole thread.
    TicketSearch.objects.all().delete()
    actions.check_add_message(ticket=ticket, author=agent, body="新的回复")
    assert cases(agent, "很久以前") == [ticket.case_number]


def test_a_query_of_only_punctuation_finds_nothing(alice, agent):
    file(alice, "问题", "内容")
    for query in ('"', "*", "(", "AND", "' OR 1=1 --", "：；", "NEAR(a b)"):
        assert cases(agent, query) == [], query


def test_a_rolled_back_ticket_leaves_no_index_row(alice):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        file(alice, "回滚", "回滚的工单")
        raise RuntimeError
    assert not TicketSearch.objects.exists()


def test_customers_of_other_agents_teams(alice):
    """An agent without teams finds only their own assignments."""
    loner = make_user("loner@example.com", role="agent")
    file(alice, "充值未到账", "x")
    assert cases(loner, "充值未到账") == []


@pytest.mark.parametrize("bucket_size", [2, 10_000])
def test_a_word_in_very_many_tickets_lists_the_newest_first_and_pages(alice, agent, monkeypatch, bucket_size):
    """Past RANK_LIMIT matches, ranking everything would be slow: newest first, same cursor,
    whether the newest blocks of ids hold a page or not (PostgreSQL looks block by block)."""
    monkeypatch.setattr(search, "RANK_LIMIT", 2)
    monkeypatch.setattr(search, "BUCKET_SIZE", bucket_size)
    monkeypatch.setattr(search, "WALK_IDS", 3)  # the walk, then the blocks (PostgreSQL)
    made = [file(alice, f"充值未到账 {i}", "充值未到账").case_number for i in range(5)]
    for i in range(4):  # other tickets in between: blocks without a match
        file(alice, f"其他 {i}", "别的")
    made += [file(alice, "充值未到账 again", "充值未到账").case_number]
    client = bearer(agent)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"q": "充值未到账", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/tickets", params).json()
        seen += [item["case_number"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == made[::-1]


def test_a_forged_search_cursor_is_ignored(alice, agent):
    """A cursor is opaque: a malformed or forged one gives a page, never an error."""
    ticket = file(alice, "充值未到账", "x")
    client = bearer(agent)
    for cursor in (
        "r!!!",
        "rbmFufDE",
        "rMXw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ",
        "nabc",
        "n" + "9" * 30,
        "x",
        "r",
    ):
        response = client.get("/api/v1/tickets", {"q": "充值未到账", "cursor": cursor})
        assert response.status_code == 200, cursor
        assert [i["case_number"] for i in response.json()["items"]] in ([ticket.case_number], []), cursor


def test_a_word_like_an_order_number_that_is_only_in_text_pages_newest_first(alice, agent, monkeypatch):
    """ "ORD778899" is shaped like an order number but no ticket has it as one: the full-text
    pages (newest first past RANK_LIMIT) carry on past page 1."""
    monkeypatch.setattr(search, "RANK_LIMIT", 2)
    made = [file(alice, f"订单 ORD778899 问题 {i}", "ORD778899").case_number for i in range(5)]
    client = bearer(agent)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"q": "ORD778899", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/tickets", params).json()
        seen += [item["case_number"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == made[::-1]


def test_a_case_filed_through_the_api_is_found_as_soon_as_the_answer_comes(alice, agent):
    """The terms are written in the create's own transaction (one compiled upsert): no job, no
    delay between the API's answer and a search that finds the case."""
    created = bearer(alice).post(
        "/api/v1/tickets",
        {
            "category": "deposit-not-credited",
            "title": "提币未到账",
            "description": "钱包地址转账六个小时没有到账",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    number = created.json()["case_number"]
    for user, query in ((agent, "六个小时"), (alice, "提币未到账")):
        body = bearer(user).get("/api/v1/tickets", {"q": query}).json()
        assert [item["case_number"] for item in body["items"]] == [number]
