"""Benchmark: agent search through the real HTTP stack, on PostgreSQL or SQLite.

    KEFU_DATABASE_URL=postgres://... python scripts/bench_ticket_search.py --tickets 1000000
    KEFU_DATA_DIR=/tmp/kefu-bench python scripts/bench_ticket_search.py --tickets 100000   # SQLite

Creates (once) tickets with varied Chinese and English text — three messages each (customer,
agent reply, internal note on some), drawn from a phrase list with a long-tailed distribution,
plus order numbers, transaction hashes and addresses — and their search terms; tickets that
exist without terms (made by bench_tickets.py) are left as they are. Then starts ``kefu serve`` and
times ``GET /api/v1/tickets?q=`` and ``/workspace/?q=`` for a signed-in agent of every team over
a mix of queries (exact lookups, rare and common Chinese words, English words). Prints p50/p99
per kind and over all, in milliseconds. Not a test: numbers, no assertions.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import statistics
import sys
import time
from functools import cache
from urllib.parse import urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_tickets import login, start_server  # noqa: E402

ZH = (
    "充值未到账 提现失败 提现一直在审核 账户被锁定 忘记密码 验证码收不到 手续费太高 转错网络 漏填标签 "
    "余额显示不对 交易记录找不到 身份认证失败 人脸识别不通过 绑定手机 更换邮箱 谷歌验证器丢失 "
    "冷钱包备份 助记词 钱包无法打开 闪退 更新后登录不了 节点同步慢 链上已经确认 区块浏览器 "
    "哈希值 合约地址 授权风险 空投 质押收益 理财产品 提币地址白名单 充币地址 内部转账 "
    "订单未成交 撤单失败 滑点 杠杆 爆仓 资金费率 冻结 解冻 申诉 客服回复慢 投诉 退款 "
    "被骗 钓鱼网站 假客服 私钥泄露 资产被盗 紧急冻结 安全中心 设备管理 登录提醒 异地登录"
).split()
EN = (
    "deposit missing|withdrawal pending|account locked|forgot password|verification code|network fee|"
    "wrong network|missing memo|balance incorrect|identity verification|face recognition|"
    "authenticator lost|seed phrase|app crashes|login failed after update|node sync|confirmed on chain|"
    "block explorer|contract address|approval risk|airdrop|staking rewards|whitelist address|"
    "internal transfer|order not filled|cancel failed|slippage|liquidation|funding rate|frozen funds|"
    "refund request|phishing site|fake support|private key leaked|stolen assets|new device login"
).split("|")
FILLER_ZH = "您好 请帮忙看一下 谢谢 麻烦尽快处理 我已经等了很久 截图已上传 请问怎么办 急".split()
AGENT_ZH = "您好，我们正在核实 已转交相关部门 请提供交易哈希 请稍候 已为您加急处理".split()
NOTES = "已核实链上记录 需要二线处理 疑似诈骗 已联系风控 客户情绪激动 VIP客户".split()


def _pick(rng: random.Random, items: list[str]) -> str:
    # Long-tailed: the first phrases are common, the last ones rare.
    return items[min(int(rng.paretovariate(1.2)) - 1, len(items) - 1)]


def _shuffled(seed: int, items: list[str]) -> list[str]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


ZH_ORDER = _shuffled(1, ZH)
EN_ORDER = _shuffled(2, EN)


@cache
def piece_terms(piece: str) -> str:
    """Terms of one phrase. Phrases are joined by punctuation, which ends every Chinese run and
    Latin word, so a message's terms are its phrases' terms: computed once per phrase."""
    from kefu.tickets.search import terms_of

    return " ".join(terms_of(piece))


def message(rng: random.Random, english: bool, extra: list[str]) -> list[str]:
    pieces = [_pick(rng, EN_ORDER if english else ZH_ORDER) for _ in range(rng.randint(1, 3))]
    pieces += [rng.choice(FILLER_ZH)] if not english else []
    return pieces + extra


def populate(total: int, customers: int, seed: int = 11) -> None:
    from django.db import connection, transaction

    from kefu.accounts.actions import do_add_team_member, do_ensure_user
    from kefu.accounts.models import Team, User
    from kefu.tickets.models import Category, Message, Ticket, TicketSearch
    from kefu.tickets.search import index_terms

    agent = do_ensure_user(email="bench-agent@example.com", role="agent", password="bench-pass-123")
    for team in Team.objects.all():
        do_add_team_member(team=team, user=agent)
    do_ensure_user(email="bench-customer@example.com", password="bench-pass-123")
    have_users = User.objects.filter(email__startswith="sbench-").count()
    User.objects.bulk_create(
        [
            User(email=f"sbench-{i}@example.com", username=f"sbench-{i}@example.com", password="!")
            for i in range(have_users, customers)
        ],
        batch_size=5000,
    )
    customer_ids = list(User.objects.filter(email__startswith="sbench-").values_list("pk", flat=True))
    categories = list(Category.objects.filter(parent__isnull=False))
    routes = [(c.pk, (t.pk if (t := c.routed_team()) else None)) for c in categories]
    statuses = ["new", "open", "pending_customer", "on_hold", "resolved", "closed"]
    # Only this script's tickets count (another benchmark's uniform tickets may share the database).
    have = Ticket.objects.filter(customer_id__in=customer_ids).count()
    rng = random.Random(seed + have)
    t0 = time.perf_counter()
    batch = 5000
    while have < total:
        n = min(batch, total - have)
        tickets, threads = [], []
        for i in range(n):
            english = rng.random() < 0.25
            order = f"ORD{rng.randrange(10**10):010d}" if rng.random() < 0.3 else ""
            tx = secrets.token_hex(32) if rng.random() < 0.2 else ""
            category, team = rng.choice(routes)
            title = _pick(rng, EN_ORDER if english else ZH_ORDER)
            tickets.append(
                Ticket(
                    # A day bench_tickets.py never uses (its tickets are from the last year).
                    case_number=f"KF-20200101-{have + i:08d}",
                    customer_id=rng.choice(customer_ids),
                    category_id=category,
                    team_id=team,
                    title=title,
                    description="",
                    status=rng.choice(statuses),
                    priority=rng.randint(1, 4),
                    language="en" if english else "zh-hans",
                    order_number=order,
                    tx_hash=tx,
                )
            )
            address = "T" + secrets.token_hex(16) if rng.random() < 0.1 else ""
            customer_text = message(rng, english, [tx or "", address])
            thread = [("public", customer_text), ("public", [rng.choice(AGENT_ZH)])]
            if rng.random() < 0.3:
                thread.append(("internal", [rng.choice(NOTES)]))
            threads.append(thread)
        with transaction.atomic():
            for ticket, thread in zip(tickets, threads, strict=True):
                ticket.description = "，".join(p for p in thread[0][1] if p)
                ticket.last_seq = len(thread)
            Ticket.objects.bulk_create(tickets, batch_size=1000)
            messages, rows = [], []
            for ticket, thread in zip(tickets, threads, strict=True):
                terms = {"public": [], "internal": []}
                for seq, (kind, pieces) in enumerate(thread, start=1):
                    body = "，".join(p for p in pieces if p)
                    # Numbered like the case's thread (kefu.tickets.thread): (ticket, seq) is unique.
                    messages.append(
                        Message(ticket=ticket, seq=seq, kind=kind, body=body, author_id=ticket.customer_id)
                    )
                    terms[kind] += [piece_terms(p) for p in pieces if p]
                row = index_terms(ticket, [])  # the title's terms, from the real function
                rows.append(
                    TicketSearch(
                        ticket=ticket,
                        title_terms=row["title_terms"],
                        public_terms=" ".join(terms["public"]),
                        internal_terms=" ".join(terms["internal"]),
                    )
                )
            Message.objects.bulk_create(messages, batch_size=2000)
            TicketSearch.objects.bulk_create(rows, batch_size=1000)
        have += n
        if have % 50_000 < batch:
            print(f"  {have:,} tickets ({time.perf_counter() - t0:.0f} s)", flush=True)
    missing = Ticket.objects.filter(search__isnull=True).count()
    if missing:
        # bench_tickets.py's tickets: one title and two messages repeated a million times. They
        # are found by exact lookups; `kefu manage reindex_tickets` would make their (identical)
        # text searchable too, which takes a long while and measures nothing new.
        print(f"{missing:,} tickets without search terms (not from this script) are left so", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("INSERT INTO tickets_search_fts(tickets_search_fts) VALUES ('optimize')")


def queries(rng: random.Random) -> list[tuple[str, str]]:
    """(kind, query) pairs drawn from the data."""
    from kefu.accounts.models import User
    from kefu.tickets.models import Message, Ticket

    last = Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0
    sample = list(
        Ticket.objects.filter(id__gt=max(0, last - 50_000)).values_list(
            "case_number", "customer_id", "tx_hash", "order_number"
        )[:: max(1, min(50_000, last) // 400)]
    )
    emails = dict(User.objects.filter(pk__in={c for _, c, _, _ in sample}).values_list("pk", "email"))
    addresses = [
        word
        for body in Message.objects.filter(
            body__contains="，T", ticket_id__gt=max(0, last - 20_000)
        ).values_list("body", flat=True)[:50]
        for word in body.split("，")
        if word.startswith("T") and len(word) == 33
    ]
    out: list[tuple[str, str]] = []
    for case, customer, tx, order in sample:
        out.append(("case number", case if rng.random() < 0.5 else case[3:].replace("-", "")))
        out.append(("customer email", emails.get(customer, "")))
        if tx:
            out.append(("tx hash", tx))
        if order:
            out.append(("order number", order))
    out += [("address in a message", a) for a in addresses]
    out += [("rare Chinese word", rng.choice(ZH_ORDER[-15:])) for _ in range(60)]
    out += [
        ("two Chinese words", f"{rng.choice(ZH_ORDER[5:25])} {rng.choice(ZH_ORDER[5:40])}") for _ in range(60)
    ]
    out += [("common Chinese word", rng.choice(ZH_ORDER[:3])) for _ in range(60)]
    out += [("English words", rng.choice(EN_ORDER)) for _ in range(60)]
    return [(kind, q) for kind, q in out if q]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=400, help="timed requests per endpoint")
    args = parser.parse_args()
    import django
    import httpx

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    populate(args.tickets, args.customers)
    from kefu.tickets.models import Ticket

    rng = random.Random(5)
    mix = queries(rng)
    kinds = sorted({kind for kind, _ in mix})
    server, base = start_server()
    try:
        agent = httpx.Client(follow_redirects=False, timeout=30)
        login(agent, base, "bench-agent@example.com")
        print(f"database={connection.vendor} tickets={Ticket.objects.count():,} queries={len(mix)} kinds")
        for name, path in (
            ("API  /api/v1/tickets?q=", "/api/v1/tickets?"),
            ("page /workspace/?q=", "/workspace/?"),
        ):
            by_kind: dict[str, list[float]] = {}
            everything: list[float] = []
            for kind in kinds:  # warm up: each kind (the first Chinese query waits for jieba)
                for q in [q for k, q in mix if k == kind][:3]:
                    agent.get(base + path + urlencode({"q": q}))
            for _ in range(args.requests):
                # Every kind of query as often as the others, whatever the number of samples.
                kind = rng.choice(kinds)
                q = rng.choice([q for k, q in mix if k == kind])
                t = time.perf_counter()
                response = agent.get(base + path + urlencode({"q": q}))
                elapsed = (time.perf_counter() - t) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{q!r}: HTTP {response.status_code}")
                by_kind.setdefault(kind, []).append(elapsed)
                everything.append(elapsed)
            print(f"{name}  all: p50={statistics.median(everything):6.1f} ms  p99={p99(everything):6.1f} ms")
            for kind, samples in sorted(by_kind.items()):
                print(
                    f"    {kind:<22} n={len(samples):4d}  p50={statistics.median(samples):6.1f}  p99={p99(samples):6.1f}"
                )
    finally:
        server.terminate()
        server.wait(10)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.99) - 1)]


if __name__ == "__main__":
    main()
