"""Demo help centre: the bundled articles and a few announcements (idempotent)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from kefu.helpcenter.actions import sync_articles_from_content
from kefu.helpcenter.models import Announcement, AnnouncementKind

# (kind, title_zh, title_en, body_zh, body_en, starts in hours, lasts hours or None, coins, networks)
DEMO_ANNOUNCEMENTS = [
    (
        AnnouncementKind.MAINTENANCE,
        "TRC-20 网络钱包维护，USDT 充提暂停",
        "TRC-20 wallet maintenance: USDT deposits and withdrawals paused",
        "为提升稳定性，我们将对 TRC-20 网络钱包进行维护。维护期间 USDT（TRC-20）充值和提现暂停，"
        "其他网络不受影响。维护期间发起的充值会在恢复后自动入账。",
        "We are upgrading our TRC-20 wallet nodes. USDT (TRC-20) deposits and withdrawals are paused "
        "meanwhile; other networks are not affected. Deposits sent during the upgrade are credited "
        "automatically once it ends.",
        -1,
        3,
        ["USDT"],
        ["TRC-20"],
    ),
    (
        AnnouncementKind.NOTICE,
        "谨防假冒客服：我们不会索要助记词或验证码",
        "Beware of fake support: we never ask for your seed phrase or codes",
        "近期有骗子冒充客服私信用户，以「账户异常」「解冻费」为由索要助记词、验证码或要求转账。"
        "官方客服绝不会这样做，请在帮助中心核实官方渠道。",
        'Scammers posing as support have been messaging users about "account problems" or "unfreeze '
        'fees" and asking for seed phrases, codes or transfers. Real support never does this; check '
        "official channels in the help centre.",
        -72,
        None,
        [],
        [],
    ),
    (
        AnnouncementKind.MAINTENANCE,
        "以太坊网络升级期间 ETH 与 ERC-20 代币充提暂停",
        "ETH and ERC-20 token deposits and withdrawals paused for the Ethereum network upgrade",
        "以太坊网络升级期间，ETH 及 ERC-20 代币的充值和提现将暂停，升级完成后自动恢复。",
        "ETH and ERC-20 token deposits and withdrawals pause during the Ethereum network upgrade and "
        "resume automatically once it completes.",
        48,
        4,
        ["ETH", "USDT"],
        ["ERC-20"],
    ),
]


def load() -> list[str]:
    """Load articles and demo announcements; running it again changes nothing."""
    lines = sync_articles_from_content().lines()
    now = timezone.now()
    created = 0
    for kind, title_zh, title_en, body_zh, body_en, start_hours, hours, coins, networks in DEMO_ANNOUNCEMENTS:
        starts_at = now + timedelta(hours=start_hours)
        _, was_created = Announcement.objects.get_or_create(
            title_en=title_en,
            defaults={
                "kind": kind,
                "title_zh": title_zh,
                "body_zh": body_zh,
                "body_en": body_en,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(hours=hours) if hours else None,
                "coins": coins,
                "networks": networks,
            },
        )
        created += was_created
    if created:
        lines.append(f"Help centre: {created} demo announcements created.")
    return lines
