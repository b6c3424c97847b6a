"""Moving CsatSurvey from chat to csat (chat 0004, csat 0001) keeps every survey row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from kefu.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("chat", "0003_verbose_names"), ("csat", None)]
AFTER = [("chat", "0004_move_csatsurvey_to_csat"), ("csat", "0001_initial")]


def _migrate(targets: list[tuple[str, str | None]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1]]).apps


def test_survey_rows_and_their_admin_permissions_survive_the_move():
    """Given surveys written by chat's model before the move, after it csat's model reads the
    same rows (answered and not), and the admin's content type now belongs to csat."""
    customer, agent = make_user("m1@example.com"), make_user("m2@example.com", "agent")
    try:
        old = _migrate(BEFORE)
        OldSurvey = old.get_model("chat", "CsatSurvey")
        ContentType = old.get_model("contenttypes", "ContentType")
        ContentType.objects.get_or_create(app_label="chat", model="csatsurvey")
        expires = timezone.now() + timedelta(days=3)
        answered = OldSurvey.objects.create(
            token="t-answered",
            customer_id=customer.pk,
            agent_id=agent.pk,
            rating=4,
            comment="好",
            expires_at=expires,
            answered_at=timezone.now(),
        )
        OldSurvey.objects.create(token="t-open", customer_id=customer.pk, expires_at=expires)

        new = _migrate(AFTER)
        NewSurvey = new.get_model("csat", "CsatSurvey")
        rows = {row.token: row for row in NewSurvey.objects.all()}
        assert set(rows) == {"t-answered", "t-open"}
        kept = rows["t-answered"]
        assert (kept.pk, kept.rating, kept.comment, kept.agent_id) == (answered.pk, 4, "好", agent.pk)
        assert (
            new.get_model("contenttypes", "ContentType")
            .objects.filter(app_label="csat", model="csatsurvey")
            .exists()
        )
    finally:
        # Leave every app at its latest migration (not just AFTER: chat has moved on since) for
        # the tests after this one.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
