"""Several machines on one (issue 12, item 6): two ``kefu serve`` nodes and a ``kefu worker``,
real processes on PostgreSQL and Redis, behave as one Kefu.

The smaller version of ``scripts/bench_cluster.py`` (kefu/tests/cluster.py has the checks and
what they count): a mail on node A's SMTP receiver becomes one ticket acknowledged once; a
customer on node A and an agent on node B chat; a file uploaded through node A downloads
through node B; 40 mails with the worker SIGKILLed mid-run and restarted are each handled
exactly once. Runs in the PostgreSQL run of the suite (CI's has Redis too); skipped on SQLite
or without ``KEFU_TEST_REDIS_URL``. The nodes use pytest's test database (this test commits:
``transaction=True``), each with a data directory of its own.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from kefu.bot.engine.default import model_cache_root
from kefu.chat.bench import prepare
from kefu.tests.cluster import (
    check_chat,
    check_files,
    check_jobs,
    check_mail,
    database_url,
    running_cluster,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_web_nodes_and_a_worker_behave_as_one(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("several nodes share one database: runs in the PostgreSQL run of the suite")
    redis_url = os.environ.get("KEFU_TEST_REDIS_URL", "")
    if not redis_url:
        pytest.skip(
            "several nodes share the channel layer and job queue through Redis: set KEFU_TEST_REDIS_URL"
        )

    # The processes share this run's cache of the bot's intent model (machines installed before:
    # no process trains it again when the suite already has).
    with running_cluster(
        database_url=database_url(connection.settings_dict),
        redis_url=redis_url,
        workdir=tmp_path,
        model_cache=model_cache_root(),
    ) as cluster:
        people = prepare(clients=3, agents=1)
        checks = [
            check_mail(cluster),
            check_chat(cluster, people),
            check_files(cluster, people),
            check_jobs(cluster, jobs=40, kill_at=0.2, timeout=120, log=lambda line: None),
        ]
        for check in checks:
            print(check.line)
        failed = [check.line for check in checks if not check.ok]
        assert not failed, "\n".join(failed) + "\n" + cluster.log_tail()
        # The kill landed mid-run: acknowledgements were out, and some were left for the
        # restarted worker (it is killed at 20 %, while mails are still arriving).
        assert 0 < checks[3].numbers["killed_acks_sent"] < 40
