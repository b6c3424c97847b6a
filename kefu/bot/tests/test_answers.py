"""answers.answer_question over the real demo articles (loaded from kefu/helpcenter/content)."""

from __future__ import annotations

import pytest

from kefu.bot.answers import MIN_SCORE, answer_question
from kefu.helpcenter.actions import sync_articles_from_content
from kefu.helpcenter.models import Article

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles():
    sync_articles_from_content()


def test_withdrawal_lock_after_password_reset(articles):
    answer = answer_question("how long after a password reset can I withdraw?", language="en")
    assert answer is not None and answer.score >= MIN_SCORE
    assert "restricted for 24 hours" in answer.text
    assert answer.article_url.startswith("/help/a/reset-password/#s-")
    assert answer.section == "Why can't I withdraw right after a reset?"
    zh = answer_question("重置密码后多久可以提现", language="zh-hans")
    assert zh is not None and zh.score >= MIN_SCORE and "24 小时内提现" in zh.text
    assert zh.article_title.startswith("忘记登录密码")


def test_withdrawal_fee_sentence(articles):
    answer = answer_question("提币手续费怎么算", language="zh-hans")
    assert answer is not None and answer.score >= MIN_SCORE
    assert "实际到账 = 提现数量 − 手续费" in answer.text
    assert answer.article_url.startswith("/help/a/fees/#")
    # One to three sentences, not the section.
    assert answer.text.count("。") <= 3


@pytest.mark.parametrize(
    "question,language",
    [
        ("what's the weather like today?", "en"),
        ("recommend a good restaurant", "en"),
        ("今天天气怎么样", "zh-hans"),
        ("给我讲个笑话", "zh-hans"),
    ],
)
def test_unrelated_questions_get_no_answer(articles, question, language):
    answer = answer_question(question, language=language)
    assert answer is None or answer.score < MIN_SCORE


def test_traditional_question_gets_a_simplified_answer(articles):
    answer = answer_question("提幣手續費怎麼算", language="zh-hant")
    assert answer is not None and answer.score >= MIN_SCORE and "手续费" in answer.text


def test_edited_article_is_answered_from_its_new_text(articles):
    article = Article.objects.get(slug="reset-password", language="en")
    article.body_markdown = article.body_markdown.replace(
        "restricted for 24 hours", "restricted for 48 hours"
    )
    article.save()
    answer = answer_question("how long after a password reset can I withdraw?", language="en")
    assert answer is not None and "restricted for 48 hours" in answer.text


def test_every_section_link_lands_on_its_heading(articles, client):
    """The anchors of the answers are the ids the article page gives its headings."""
    from kefu.helpcenter.passages import split_sections
    from kefu.helpcenter.rendering import rendered_html

    checked = 0
    for article in Article.objects.all():
        html = str(rendered_html(article.body_markdown))
        for section in split_sections(
            article_id=article.pk,
            slug=article.slug,
            language=article.language,
            title=article.title,
            summary=article.summary,
            body_markdown=article.body_markdown,
        ):
            if section.anchor:
                assert f'id="{section.anchor}">{section.heading}</h' in html.replace("&#x27;", "'"), (
                    article.slug,
                    section.anchor,
                )
                checked += 1
    assert checked > 300
    page = client.get("/help/a/reset-password/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<h2 id="s-why-cant-i-withdraw-right-after-a-reset">' in page


@pytest.mark.parametrize(
    "question,language,slug,section,opening",
    [
        # The heading asks what the customer asks: the section's opening answers it.
        ("how long does KYC review take?", "en", "kyc-verification", "How long does it take?", "Most checks"),
        ("交易哈希在哪里看", "zh-hans", "find-tx-hash-block-explorer", "去哪里找", "流明钱包账户"),
        ("how do I turn on 2FA?", "en", "two-factor-authentication", "How to set it up", "Install"),
        ("实名认证要多久", "zh-hans", "kyc-verification", "审核需要多久", "大多数认证几分钟内"),
        # A section of the right article, not the article's summary or a neighbour.
        (
            "my withdrawal has been processing for 6 hours",
            "en",
            "withdrawal-pending",
            'Stuck "Processing"',
            "",
        ),
        ("XRP充值忘记填标签", "zh-hans", "deposit-wrong-network", "情况一：漏填或填错 Memo/标签", ""),
        # "so high" is the article's "Gas rises when the network is busy" (synonyms.yaml: costly).
        ("why is my gas fee so high?", "en", "fees", "Gas (network) fees", ""),
    ],
)
def test_the_section_that_answers(articles, question, language, slug, section, opening):
    answer = answer_question(question, language=language)
    assert answer is not None and answer.score >= MIN_SCORE
    assert answer.article_url.startswith(f"/help/a/{slug}/#s-") and answer.section == section
    assert answer.text.startswith(opening)


def test_intent_prefers_its_articles(articles):
    plain = answer_question("it is stuck", language="en")
    steered = answer_question("it is stuck", language="en", intent="withdrawal_pending")
    assert steered is not None and "/withdrawal-pending/" in steered.article_url
    assert plain is None or plain.score <= steered.score or "/withdrawal-pending/" in plain.article_url
    # "方式" alone would point at changing one's contact details (联系方式).
    contact = answer_question("联系客服的方式 那怎么办", language="zh-hans", intent="contact_channels")
    assert contact is not None and contact.article_url.startswith("/help/a/contact-support/")


def test_unpublished_article_is_not_answered(articles):
    Article.objects.filter(slug="reset-password").update(is_published=False)
    from kefu.helpcenter.search import bump_version

    bump_version()  # .update() sends no signal; admin unpublishing goes through actions
    answer = answer_question("how long after a password reset can I withdraw?", language="en")
    assert answer is None or "/reset-password/" not in answer.article_url


def test_a_table_is_answered_by_its_rows_not_its_header(articles):
    answer = answer_question("what are your support hours?", language="en")
    assert answer is not None and answer.section == "Hours by channel"
    assert answer.text.startswith("Support assistant – 24/7 · ") and "Channel · Hours" not in answer.text
    zh = answer_question("客服几点上班", language="zh-hans")
    assert zh is not None and zh.text.startswith("智能客服：7×24 小时") and "。人工在线客服：" in zh.text


def test_a_list_item_comes_with_the_sentence_that_introduces_it(articles):
    answer = answer_question("what evidence do I need for a complaint", language="en")
    assert answer is not None and answer.section == "What to include"
    assert "Please include: Your UID or registered email/phone number." in answer.text


def test_section_ids_are_generated_after_sanitising():
    """Only Kefu's own s-… ids reach the page: a heading cannot smuggle attributes, and an id
    written into the Markdown's raw HTML is dropped by the sanitiser as before."""
    from html.parser import HTMLParser

    from kefu.helpcenter.rendering import rendered_html

    html = str(rendered_html('## Hi" onmouseover="alert(1)\n\n<h2 id="evil">x</h2>\n\n## <b>Bold</b> & more'))
    attributes: list[tuple[str, str | None]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attributes.extend(attrs)

    Collect().feed(html)
    assert attributes == [("id", "s-hi-onmouseoveralert1"), ("id", "s-x"), ("id", "s-bold-more")]


def test_an_empty_help_centre_answers_nothing(db):
    assert answer_question("how long after a password reset can I withdraw?", language="en") is None
    assert answer_question("提币手续费怎么算", language="zh-hant", intent="fees") is None


def test_a_list_under_its_heading_keeps_the_heading_as_its_lead():
    """"Anyone asking for your seed phrase" means the opposite without "these are never us"."""
    from kefu.helpcenter.passages import _sentences

    body = "- 主动给你打电话的\"客服\"；\n- 任何要求提供助记词、私钥的人。\n\n即使对方能说出你的姓名，也不代表他是官方。"
    said = _sentences(body, "这些一定不是官方")
    assert [s.lead for s in said[:2]] == ["这些一定不是官方："] * 2 and all(s.heading_lead for s in said[:2])
    assert said[-1].lead == ""  # the paragraph after the list stands alone
    assert _sentences(body)[0].lead == ""  # no heading: nothing to lead with
