"""Demo tickets and canned replies (idempotent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kefu.accounts.models import Team, User
from kefu.tickets import actions
from kefu.tickets.models import CannedReply, Category, Channel, Ticket

CANNED = [
    (
        "问候",
        "Greeting",
        None,
        "您好 {name}，感谢您联系客服，我们已收到您的工单 {case_number}，正在为您处理。",
        "Hello {name}, thank you for contacting us. We have received your ticket {case_number} and are on it.",
    ),
    (
        "请提供交易哈希",
        "Ask for tx hash",
        "assets",
        "为了帮您核实，请提供：币种、网络（如 ERC-20/TRC-20）、金额、大致时间和交易哈希（TxID）。"
        "请勿发送助记词或私钥，客服绝不会索要。",
        "To check this for you, please send the coin, the network (e.g. ERC-20/TRC-20), the amount, the "
        "approximate time and the transaction hash (TxID). Never send your seed phrase or private key; "
        "we will never ask for it.",
    ),
    (
        "确认数不足",
        "Waiting for confirmations",
        "assets",
        "您的充值已在链上找到，目前确认数尚未达到入账要求，达到后会自动到账，请耐心等待。",
        "We found your deposit on chain. It has not reached the required number of confirmations yet and "
        "will be credited automatically once it does.",
    ),
    (
        "账户安全",
        "Secure your account",
        "security",
        "我们已为您的账户启动安全流程。请立即修改登录密码、重新绑定双重验证，并检查登录设备。",
        "We have started the security process for your account. Please change your password at once, "
        "re-bind two-factor authentication and review your signed-in devices.",
    ),
]

DEMO_TICKETS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    (
        "alice@example.com",
        "deposit-not-credited",
        "USDT 充值两小时还没到账",
        "我从另一个平台提了 500 USDT 到我的钱包地址，网络选的 TRC-20，已经两个小时了余额还是没变。",
        {"coin": "USDT", "network": "TRC-20", "amount": Decimal("500"), "tx_hash": ""},
    ),
    (
        "alice@example.com",
        "otp",
        "收不到短信验证码",
        "登录时一直收不到短信验证码，已经重试了好几次，手机信号正常。",
        {},
    ),
    (
        "bob@example.com",
        "withdrawal-issue",
        "Withdrawal stuck in processing",
        "My ETH withdrawal has been 'processing' for 6 hours. The amount was 1.2 ETH to my hardware wallet.",
        {"coin": "ETH", "network": "ERC-20", "amount": Decimal("1.2")},
    ),
]


def load() -> list[str]:
    for title, title_en, team_slug, zh, en in CANNED:
        CannedReply.objects.get_or_create(
            title=title,
            defaults={
                "title_en": title_en,
                "body_zh": zh,
                "body_en": en,
                "team": Team.objects.filter(slug=team_slug).first(),
            },
        )
    lines = []
    for email, category_slug, title, description, extra in DEMO_TICKETS:
        customer = User.objects.get(email=email)
        if Ticket.objects.filter(customer=customer, title=title).exists():
            continue
        submission = actions.check_create_ticket(
            customer=customer,
            category=Category.objects.get(slug=category_slug),
            title=title,
            description=description,
            channel=Channel.PORTAL,
            language="en" if title.isascii() else "zh-hans",
            coin=extra.get("coin", ""),
            network=extra.get("network", ""),
            amount=extra.get("amount"),
            tx_hash=extra.get("tx_hash", ""),
        )
        lines.append(f"Demo ticket {submission.ticket.case_number}: {title}")
    return lines
