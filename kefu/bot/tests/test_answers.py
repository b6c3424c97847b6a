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
