"""Reading real client mail: charsets, encoded headers, HTML, quoted history, loops, URLs."""

from __future__ import annotations

import pytest

from kefu.mail import parsing
from kefu.mail.imap import parse_imap_url
from kefu.mail.loops import automatic_reason
from kefu.mail.mailurl import email_backend_settings
from kefu.mail.smtp import split_listen
from kefu.mail.tests.conftest import SUPPORT, load

OWN = {SUPPORT}


@pytest.mark.parametrize(
    ("name", "subject", "sender", "snippet"),
    [
        (
            "outlook_html_plain.eml",
            "USDT deposit not received after 3 hours",
            "daniel.reed@corp.example",
            "it still\nhasn’t arrived",
        ),
        ("gmail.eml", "账户被锁定了", "xiaoming.wang@webmail.example", "密码错误次数过多"),
        (
            "foxmail_gb2312.eml",
            "提现一直处理中（张堃喆）",
            "zhangkun@fox.example",
            "收款人姓名里有“镕”字",
        ),
        ("qqmail_gb18030.eml", "充错网络了怎么办", "lilei@cnmail.example", "从 BSC 充到了 ERC20"),
        ("big5.eml", "兩步驟驗證手機遺失", "dawen.chen@twmail.example", "無法登入帳戶"),
    ],
)
def test_client_mail_decodes_subject_sender_and_body(name, subject, sender, snippet):
    """Each client's charset and encoding comes out as the text the customer typed."""
    parsed = parsing.parse_mail(load(name))
    assert parsed.subject == subject
    assert parsed.from_addr == sender
    assert snippet in parsed.text
    assert "\ufffd" not in parsed.text + parsed.subject + parsed.from_name


def test_gb2312_label_on_gbk_text_is_decoded_as_gb18030():
    """Foxmail labels GBK as gb2312; 堃, 喆 and 镕 are outside GB2312 and must survive."""
    parsed = parsing.parse_mail(load("foxmail_gb2312.eml"))
    assert parsed.from_name == "张堃喆"
    assert "张堃喆" in parsed.subject and "镕" in parsed.text
    assert parsing.decode_bytes("堃".encode("gbk"), "gb2312") == "堃"


def test_raw_eight_bit_header_is_decoded():
    """QQ Mail's web client sometimes sends the From name as raw GB18030 bytes."""
    parsed = parsing.parse_mail(load("qqmail_gb18030.eml"))
    assert parsed.from_name == "李雷"


def test_plain_text_is_preferred_and_html_only_mail_is_rendered():
    outlook = parsing.parse_mail(load("outlook_html_plain.eml"))
    assert "MsoNormal" not in outlook.text and "Calibri" not in outlook.text
    html_only = (
        b"From: a@mail.example\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><title>T</title><style>p{color:red}</style><script>alert(1)</script></head>"
        b"<body><p>Line one<br>Line two</p><p>Visit <a href='https://phish.example/login'>the official site</a></p>"
        b"<blockquote>old text</blockquote></body></html>"
    )
    text = parsing.parse_mail(html_only).text
    assert text.splitlines()[:2] == ["Line one", "Line two"]
    assert "https://phish.example/login" in text  # a reported phishing link keeps its real target
    assert "> old text" in text
    assert "alert" not in text and "color" not in text and "T\n" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Outlook: underscore separator and a From/Sent block
        (
            "Thanks, that worked.\n\n________________________________\nFrom: Kefu Support <support@kefu.example>\n"
            "Sent: Monday, 6 January 2025 10:02\nTo: Daniel\nSubject: RE: x\n\nold",
            "Thanks, that worked.",
        ),
        # Chinese Outlook header block without a separator line
        (
            "好的，谢谢。\n\n发件人: 客服 <support@kefu.example>\n发送时间: 2025年1月6日 10:02\n收件人: 我\n主题: 回复\n\n旧",
            "好的，谢谢。",
        ),
        ("收到\n\n------------------ 原始邮件 ------------------\n发件人: x\n旧", "收到"),
        ("ok\n\n-----Original Message-----\nFrom: x\nold", "ok"),
        # Gmail wraps a long attribution over two lines
        (
            "Done.\n\nOn Mon, Jan 6, 2025 at 10:02 AM Kefu Support <\nsupport@kefu.example> wrote:\n> old",
            "Done.",
        ),
        ("已处理\n\nKefu Support <support@kefu.example> 于2025年1月6日周一 10:02写道：\n> 旧", "已处理"),
        # Bottom-posting and inline answers survive; the quotes do not
        ("On 6 Jan, Support wrote:\n> Which network?\n\nTRON.\n> Amount?\n250 USDT", "TRON.\n250 USDT"),
        # A customer describing a transfer is not a quoted header block
        ("From: 0xabc123\nTo: 0xdef456\nAmount: 5 ETH", "From: 0xabc123\nTo: 0xdef456\nAmount: 5 ETH"),
        ("Please check.\n\n-- \nDaniel Reed\nCorp", "Please check."),
        ("请查一下\n\n发自我的iPhone", "请查一下"),
        # A forwarded (phishing) mail is the point of the message: kept, headers and all
        (
            "Is this you?\n\n---------- Forwarded message ---------\nFrom: Support <help@lookalike.example>\n"
            "Date: Mon, 6 Jan 2025\nSubject: Verify your wallet\nTo: me@mail.example\n\nSend your seed words.",
            "Is this you?\n\n---------- Forwarded message ---------\nFrom: Support <help@lookalike.example>\n"
            "Date: Mon, 6 Jan 2025\nSubject: Verify your wallet\nTo: me@mail.example\n\nSend your seed words.",
        ),
    ],
)
def test_visible_text_trims_history_and_signatures(text, expected):
    assert parsing.visible_text(text) == expected


def test_sample_replies_keep_only_the_new_text():
    apple = parsing.parse_mail(load("apple_mail_reply.eml", subject="x", in_reply_to="", references=""))
    assert (
        parsing.visible_text(apple.text)
        == "我已经按照您的说明重新安装了 App，还是无法打开， 一直停在启动页。"
    )
    thunderbird = parsing.parse_mail(load("reply_quoted.eml", subject="x", in_reply_to="", references=""))
    visible = parsing.visible_text(thunderbird.text)
    assert visible.startswith("The wallet still shows 0 USDT.") and visible.endswith("another exchange.")
    assert "Thank you for contacting us" in thunderbird.text  # the full text keeps the history


@pytest.mark.parametrize(
    "subject",
    [
        "Re: [KF-20250106-12345678] Deposit",
        "回复：【KF-20250106-12345678】充值未到账",
        "RE: RE: Deposit (KF-20250106-12345678)",
        "Fwd: kf-20250106-12345678 deposit",
        "答复: 工单 KF-20250106-12345678",
    ],
)
def test_case_number_is_found_in_any_bracket_style(subject):
    assert parsing.case_numbers(subject) == ["KF-20250106-12345678"]
    assert "KF-" not in parsing.clean_subject(subject).upper()


def test_clean_subject_strips_reply_prefixes():
    assert parsing.clean_subject("Re: Fwd: 回复：[KF-20250106-12345678] Deposit missing") == "Deposit missing"


def test_language_guess():
    assert parsing.guess_language("我的充值没有到账") == "zh-hans"
    assert parsing.guess_language("my deposit is missing") == "en"


@pytest.mark.parametrize(
    ("name", "envelope_from", "reason"),
    [
        ("auto_reply.eml", "daniel.reed@corp.example", "auto_submitted"),
        ("bounce_dsn.eml", "", "auto_submitted"),
        ("outlook_html_plain.eml", "daniel.reed@corp.example", ""),
        ("outlook_html_plain.eml", "", "null_sender"),
    ],
)
def test_automatic_mail_is_recognised(name, envelope_from, reason):
    parsed = parsing.parse_mail(load(name, subject="x", in_reply_to="", references=""))
    assert automatic_reason(parsed, envelope_from=envelope_from, own_addresses=OWN) == reason


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("From: a@mail.example\r\nPrecedence: bulk\r\n", "precedence"),
        ("From: a@mail.example\r\nX-Autoreply: yes\r\n", "auto_reply_header"),
        ("From: a@mail.example\r\nList-Id: <news.mail.example>\r\n", "mailing_list"),
        ("From: a@mail.example\r\nReturn-Path: <>\r\n", "null_sender"),
        ("From: postmaster@mail.example\r\n", "daemon_sender"),
        (f"From: Kefu <{SUPPORT}>\r\n", "own_address"),
        ("From: a@mail.example\r\nAuto-Submitted: no\r\n", ""),
        ("Subject: no sender\r\n", "no_sender"),
    ],
)
def test_loop_headers(headers, reason):
    parsed = parsing.parse_mail(f"{headers}Subject: hi\r\n\r\nbody\r\n".encode())
    assert automatic_reason(parsed, envelope_from=None, own_addresses=OWN) == reason


def test_bounce_is_ignored_even_without_auto_submitted():
    raw = load("bounce_dsn.eml").replace(b"Auto-Submitted: auto-replied\r\n", b"")
    parsed = parsing.parse_mail(raw)
    assert automatic_reason(parsed, envelope_from="", own_addresses=OWN) == "bounce"


def test_email_url_forms():
    assert email_backend_settings("") == {}
    smtps = email_backend_settings("smtps://kefu:p%40ss@smtp.mail.example")
    assert smtps["EMAIL_PORT"] == 465 and smtps["EMAIL_USE_SSL"] and not smtps["EMAIL_USE_TLS"]
    assert smtps["EMAIL_HOST_PASSWORD"] == "p@ss"
    starttls = email_backend_settings(
        "smtp://u:p@smtp.mail.example?starttls=1&timeout=5&from=help@kefu.example"
    )
    assert starttls["EMAIL_PORT"] == 587 and starttls["EMAIL_USE_TLS"] and starttls["EMAIL_TIMEOUT"] == 5
    assert starttls["DEFAULT_FROM_EMAIL"] == "help@kefu.example"
    assert email_backend_settings("smtp://relay.mail.example:2525")["EMAIL_PORT"] == 2525
    assert email_backend_settings("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")
    with pytest.raises(ValueError):
        email_backend_settings("http://relay.mail.example")


def test_imap_url_and_listen_forms():
    imaps = parse_imap_url(
        "imaps://support%40kefu.example:s3cret@imap.mail.example/Support%20Inbox?move=Done"
    )
    assert (imaps.host, imaps.port, imaps.user, imaps.mailbox, imaps.move_to) == (
        "imap.mail.example",
        993,
        "support@kefu.example",
        "Support Inbox",
        "Done",
    )
    assert "s3cret" not in repr(imaps)
    plain = parse_imap_url("imap://u:p@imap.mail.example?starttls=1")
    assert plain.port == 143 and plain.starttls and not plain.implicit_tls and plain.mailbox == "INBOX"
    assert split_listen("0.0.0.0:2525") == ("0.0.0.0", 2525)
    assert split_listen("[::1]:25") == ("::1", 25)
    assert split_listen(":2525") == ("0.0.0.0", 2525)
    with pytest.raises(ValueError):
        split_listen("localhost")
