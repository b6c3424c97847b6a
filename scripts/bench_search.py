"""Benchmark: help-centre search over 10,000 articles.

The 68 bundled articles plus generated variations of them (other coins and networks, mixed
paragraphs, Chinese text with English error messages glued in, as customers and writers mix
them) are loaded into a throw-away SQLite database, indexed through the same code path as the
site (``search_articles``: shared version check, build from the ``Article`` table), and queried
~1,000 times with realistic customer queries in simplified and traditional Chinese, English and
mixed text. Prints index build time and p50/p95/p99 query latency. Not a test: numbers only.

    KEFU_DATA_DIR=/tmp/kefu-bench .venv/bin/python scripts/bench_search.py
    .venv/bin/python scripts/bench_search.py --articles 2000 --queries 500 --in-memory
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

COINS = ["USDT", "ETH", "BTC", "TRX", "BNB", "XRP", "TON", "EOS", "LTC", "DOGE"]
NETWORKS = ["ERC-20", "TRC-20", "BEP-20", "TON", "Bitcoin", "Litecoin"]
FEATURES_ZH = [
    "闪兑",
    "理财",
    "质押",
    "网格交易",
    "红包",
    "地址簿",
    "观察钱包",
    "多签钱包",
    "DApp 浏览器",
    "法币买币",
]
FEATURES_EN = [
    "Swap",
    "Earn",
    "Staking",
    "Grid trading",
    "Red packets",
    "Address book",
    "Watch wallet",
    "Multisig",
]
ERRORS = [
    "insufficient funds for gas",
    "nonce too low",
    "execution reverted",
    "withdrawal suspended",
    "invalid address",
    "network timeout",
    "signature verification failed",
    "rate limit exceeded",
]
MIXED_ZH = [
    "如果你在 {network} 上转 {coin} 时看到 “{error}” 报错，先检查余额和网络，再重试。",
    "{feature}里的 {coin} 提示 {error}，一般是节点拥堵，稍后刷新即可。",
    "{coin} 走 {network} 时，请确认收款方也支持 {network}，否则无法到账。",
    "部分用户反馈 {feature} 页面显示 “{error}”，我们已在公告中说明处理进度。",
]
MIXED_EN = [
    'If sending {coin} on {network} fails with "{error}", check your balance and the network first.',
    "{feature} may show {error} for {coin} while the network is congested; refresh a little later.",
    "When you use {network} for {coin}, make sure the recipient supports {network} too.",
    'Some users see "{error}" in {feature}; the Announcements page has the latest status.',
]
QUERIES = [
    # simplified Chinese, no spaces, as typed in a chat box
    ("充值一直没到账怎么办", "zh-hans"),
    ("提U卡住了", "zh-hans"),
    ("谷歌验证器换手机了", "zh-hans"),
    ("{coin}充错链了还能找回吗", "zh-hans"),
    ("{coin}提现一直在审核中", "zh-hans"),
    ("收不到短信验证码", "zh-hans"),
    ("账号被冻结了怎么解冻", "zh-hans"),
    ("助记词丢了能找回吗", "zh-hans"),
    ("转人工", "zh-hans"),
    ("客服几点上班", "zh-hans"),
    ("{network}手续费为什么这么贵", "zh-hans"),
    ("gas费不够转不出去", "zh-hans"),
    ("实名认证失败", "zh-hans"),
    ("App打不开一直白屏", "zh-hans"),
    ("冷钱包和热钱包区别", "zh-hans"),
    ("P2P对方不放币怎么申诉", "zh-hans"),
    ("交易哈希在哪里看", "zh-hans"),
    ("余额不对少了{coin}", "zh-hans"),
    ("被骗了怎么举报", "zh-hans"),
    ("怎么提高提现额度", "zh-hans"),
    ("{feature}用不了", "zh-hans"),
    ("工单进度怎么查", "zh-hans"),
    ("忘记资金密码", "zh-hans"),
    ("换绑手机号", "zh-hans"),
    ("{coin} {network} 提现 pending 很久", "zh-hans"),
    ("充值{coin}显示{error}", "zh-hans"),
    # traditional Chinese
    ("帳號被鎖定了", "zh-hant"),
    ("提幣一直沒到帳", "zh-hant"),
    ("忘記密碼怎麼辦", "zh-hant"),
    ("助記詞被盜了", "zh-hant"),
    ("手續費太貴", "zh-hant"),
    # full-width and mixed
    ("ＵＳＤＴ提不出来", "zh-hans"),
    ("ＫＹＣ审核多久", "zh-hans"),
    # English
    ("forgot my password", "en"),
    ("my deposit has not arrived", "en"),
    ("{coin} withdrawal stuck processing", "en"),
    ("sent {coin} on the wrong network", "en"),
    ("app keeps crashing", "en"),
    ("how to reset 2fa new phone", "en"),
    ("account locked", "en"),
    ("talk to a human agent", "en"),
    ("seed phrase lost", "en"),
    ("is this support number real", "en"),
    ("{network} fee too high", "en"),
    ("swap failed but money gone", "en"),
    ("kyc rejected", "en"),
    ("where is my tx hash", "en"),
    ("hacked account funds stolen", "en"),
    ("{error} when sending {coin}", "en"),
    ("withdrawal limit increase", "en"),
]
PREFIXES = ["", "", "", "请问", "你好，", "hi ", "急！", "help: "]
SUFFIXES = ["", "", "", "？", "怎么办", " please", "!!", "。。。"]


@dataclass
class Generated:
    slug: str
    language: str
    title: str
    summary: str
    body_markdown: str
    keywords: list[str]
    key_steps: list[str]
    intents: list[str]
    category_slug: str | None


def generate(total: int, seed: int) -> list[Generated]:
    """The bundled articles plus ``total - 68`` realistic variations of them."""
    from kefu.helpcenter.content import load_sources

    rng = random.Random(seed)
    real = load_sources()
    by_language: dict[str, list] = {}
    for source in real:
        by_language.setdefault(source.language, []).append(source)
    out = [
        Generated(
            s.slug,
            s.language,
            s.title,
            s.summary,
            s.body_markdown,
            list(s.keywords),
            list(s.key_steps),
            list(s.intents),
            s.category_slug,
        )
        for s in real
    ]
    for number in range(total - len(out)):
        base = rng.choice(real)
        zh = base.language == "zh-hans"
        coin, network = rng.choice(COINS), rng.choice(NETWORKS)
        feature = rng.choice(FEATURES_ZH if zh else FEATURES_EN)
        fill = {"coin": coin, "network": network, "feature": feature, "error": rng.choice(ERRORS)}

        def swap(text: str, coin: str = coin, network: str = network) -> str:
            return text.replace("USDT", coin).replace("TRC-20", network)

        paragraphs = [p for p in base.body_markdown.split("\n\n") if p.strip()]
        donor = rng.choice(by_language[base.language])
        extra = [p for p in donor.body_markdown.split("\n\n") if p.strip()]
        body = paragraphs[:1] + rng.sample(paragraphs[1:], k=max(1, len(paragraphs) - 2))
        body += rng.sample(extra, k=min(2, len(extra)))
        templates = MIXED_ZH if zh else MIXED_EN
        body.insert(
            rng.randrange(1, len(body) + 1), " ".join(t.format(**fill) for t in rng.sample(templates, 2))
        )
        title = f"{base.title}（{coin} · {network}）" if zh else f"{base.title} – {coin} on {network}"
        out.append(
            Generated(
                slug=f"{base.slug}-{number}",
                language=base.language,
                title=swap(title),
                summary=swap(base.summary),
                body_markdown=swap("\n\n".join(body)),
                keywords=[*base.keywords, coin, network, feature],
                key_steps=[swap(step) for step in base.key_steps],
                intents=list(base.intents),
                category_slug=base.category_slug,
            )
        )
    return out


def queries(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed + 1)
    out = []
    for _ in range(count):
        template, language = rng.choice(QUERIES)
        text = template.format(
            coin=rng.choice(COINS),
            network=rng.choice(NETWORKS),
            feature=rng.choice(FEATURES_ZH),
            error=rng.choice(ERRORS),
        )
        if language != "en":
            text = rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)
        out.append((text, language))
    return out


@dataclass
class Timing:
    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"


def timed(func: Callable[[], object]) -> tuple[Timing, object]:
    """Wall-clock and this thread's CPU time: on a shared machine the CPU time is the steadier one."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = func()
    return Timing(time.perf_counter() - wall, time.thread_time() - cpu), result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def load_database(articles: list[Generated]) -> None:
    from django.core.management import call_command

    from kefu.helpcenter.models import Article
    from kefu.tickets.models import Category

    call_command("migrate", verbosity=0, skip_checks=True)
    categories = Category.objects.in_bulk(field_name="slug")
    Article.objects.bulk_create(
        [
            Article(
                slug=a.slug,
                language=a.language,
                title=a.title,
                summary=a.summary,
                body_markdown=a.body_markdown,
                keywords=a.keywords,
                key_steps=a.key_steps,
                intents=a.intents,
                category=categories.get(a.category_slug or ""),
            )
            for a in articles
        ],
        batch_size=500,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--in-memory", action="store_true", help="index generated rows directly, without the SQLite database"
    )
    args = parser.parse_args()

    data_dir = Path(os.environ.get("KEFU_DATA_DIR") or tempfile.mkdtemp(prefix="kefu-bench-"))
    os.environ["KEFU_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("KEFU_LOG_LEVEL", "WARNING")
    import django
    from django.conf import settings

    django.setup()
    if not args.in_memory and Path(settings.DATABASES["default"]["NAME"]).exists():
        print(
            f"error: {settings.DATABASES['default']['NAME']} exists; use an empty KEFU_DATA_DIR",
            file=sys.stderr,
        )
        return 2

    from kefu.helpcenter import analysis, search

    corpus = generate(args.articles, args.seed)
    chars = sum(len(a.title) + len(a.summary) + len(a.body_markdown) for a in corpus)
    zh = sum(a.language == "zh-hans" for a in corpus)
    print(
        f"corpus: {len(corpus):,} articles ({zh:,} zh-hans, {len(corpus) - zh:,} en), {chars / 1e6:.1f} M chars"
    )

    warm, _ = timed(lambda: (analysis.analyze("预热 warm-up 帳號"), analysis.synonyms()))
    print(f"analyser start-up (jieba dictionary, OpenCC, synonyms): {warm}")

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.in_memory:
        sources = [
            search.IndexSource(
                article_id=i,
                slug=a.slug,
                language=a.language,
                title=a.title,
                summary=a.summary,
                body_markdown=a.body_markdown,
                keywords=tuple(a.keywords),
                key_steps=tuple(a.key_steps),
                intents=tuple(a.intents),
            )
            for i, a in enumerate(corpus)
        ]
        build, index = timed(lambda: search.SearchIndex.build(sources))
        rebuild, _ = timed(lambda: search.SearchIndex.build(sources, previous=index))  # type: ignore[arg-type]

        def run(query: str, language: str) -> list:
            return index.search(query, language=language, limit=10)  # type: ignore[attr-defined]

    else:
        load_time, _ = timed(lambda: load_database(corpus))
        print(f"database: {settings.DATABASES['default']['NAME']} (migrate + insert {load_time})")
        build, _ = timed(search.current_index)
        search.bump_version()  # as after an edit: every process rebuilds, reusing unchanged analyses
        rebuild, _ = timed(search.current_index)

        def run(query: str, language: str) -> list:
            return search.search_articles(query, language=language, limit=10)

    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"index build: {build}; rebuild after an edit (unchanged articles not re-analysed): {rebuild}")
    print(f"peak RSS grew by {(rss_after - rss_before) / 1024:.0f} MiB while building")

    workload = queries(args.queries, args.seed)
    for query, language in workload[:50]:
        run(query, language)  # warm-up: first-use costs are not query latency
    gc.collect()
    walls: list[float] = []
    cpus: list[float] = []
    empty = 0
    for query, language in workload:
        elapsed, hits = timed(lambda q=query, lang=language: run(q, lang))
        walls.append(elapsed.wall * 1000)
        cpus.append(elapsed.cpu * 1000)
        empty += not hits
    print(
        f"queries: {len(workload):,} ({len(set(workload)):,} distinct), {empty} with no result, top 10 with snippets"
    )
    for label, values in (("wall", walls), ("CPU ", cpus)):
        print(
            f"  {label} ms: p50 {statistics.median(values):.2f}  p95 {percentile(values, 95):.2f}  "
            f"p99 {percentile(values, 99):.2f}  max {max(values):.2f}"
        )
    for query, language in workload[:5]:
        print(f"  {query!r} [{language}] → {[hit.slug for hit in run(query, language)[:3]]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
