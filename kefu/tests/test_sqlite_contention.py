"""The embedded default (a SQLite file) serves writers while the bot's model is still loading.

SQLite has one write lock for the whole database. When a bot message or a mail held it while
the intent model was trained or loaded (seconds at start-up), every other writer waited out the
busy timeout and failed with "database is locked" (HTTP 500, SMTP 451).

This runs in a child process on a fresh data directory, so the database is a real file (the
test database of pytest-django on SQLite lives in memory). The child holds the engine's own
load lock — as a start-up warm-up that is still training does — while bot conversations and
mail processing need the model, and meanwhile accepts a mail (the SMTP receiver's store),
files a ticket and adds an agent's reply. Every one of them must succeed. No timing is
asserted: the child waits for the bot threads by looking at where they stand, and the busy
timeout is lowered only so that the old failure shows in seconds rather than twenty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

CHILD = textwrap.dedent(
    r"""
    import json, sys, threading, time, traceback
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["OPTIONS"]["timeout"] = 2  # the old failure in 2 s, not 20
    from django.core.management import call_command
    from django.db import connection, connections

    assert connection.vendor == "sqlite" and "memory" not in str(connection.settings_dict["NAME"])
    call_command("migrate", interactive=False, verbosity=0)

    from kefu.accounts.actions import do_ensure_user
    from kefu.bot import actions as bot
    from kefu.bot.engine import default as engine
    from kefu.mail.actions import do_accept_inbound, do_process_inbound
    from kefu.tickets import actions as tickets
    from kefu.tickets.models import Category

    category = Category.objects.get(slug="deposit-not-credited")
    customer = do_ensure_user(email="c@example.com")
    agent = do_ensure_user(email="a@example.com", role="agent")
    ticket = tickets.check_create_ticket(
        customer=customer, category=category, title="t", description="充值没到账"
    ).ticket

    def mail(n):
        return (
            f"From: Customer {n} <m{n}@customer.example>\r\nTo: support@lumenwallet.example\r\n"
            f"Subject: 充值未到账 {n}\r\nMessage-ID: <contention-{n}@customer.example>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n我的USDT还没有到账\r\n"
        ).encode()

    pending = do_accept_inbound(mail(0), envelope_from="m0@customer.example",
                                envelope_to=["support@lumenwallet.example"]).inbound
    errors, replies = [], []

    def run(label, function):
        def target():
            try:
                result = function()
                if label.startswith("bot"):
                    replies.append(result.text)
            except Exception as exc:
                errors.append(f"{label}: {type(exc).__name__}: {exc}")
            finally:
                connections.close_all()
        return threading.Thread(target=target, name=label)

    # The model is being loaded elsewhere: its lock is taken, as the warm-up thread takes it.
    engine._engine = None
    engine._lock.acquire()
    waiting = [
        run(f"bot {i}", lambda i=i: bot.do_handle_message(
            conversation=None, customer=None, text=["USDT充值没到账", "提现很慢", "怎么重置2FA"][i],
            language="zh-hans"))
        for i in range(3)
    ]
    waiting.append(run("mail processing", lambda: do_process_inbound(pending)))
    for thread in waiting:
        thread.start()

    def blocked_on_the_model(thread):
        frame = sys._current_frames().get(thread.ident)
        while frame is not None:
            if frame.f_code.co_name == "default_engine":
                return True
            frame = frame.f_back
        return False

    # Until every one of them waits for the model (or has already failed).
    while not all(blocked_on_the_model(t) or not t.is_alive() for t in waiting):
        time.sleep(0.01)

    # Meanwhile: the SMTP receiver stores a mail, a customer files a ticket, an agent replies.
    meanwhile = [
        run("smtp store", lambda: do_accept_inbound(
            mail(1), envelope_from="m1@customer.example", envelope_to=["support@lumenwallet.example"])),
        run("ticket", lambda: tickets.check_create_ticket(
            customer=customer, category=category, title="t2", description="提现没到账")),
        run("agent reply", lambda: tickets.check_add_message(
            ticket=ticket, author=agent, body="正在核查", channel="agent")),
    ]
    for thread in meanwhile:
        thread.start()
    for thread in meanwhile:
        thread.join()
    engine._lock.release()  # the model is ready: the waiting conversations go on
    for thread in waiting:
        thread.join()
    print(json.dumps({"errors": errors, "replies": len(replies)}))
    """
)


def test_writers_never_wait_on_the_model_load(tmp_path: Path):
    from kefu.bot.engine.default import model_cache_root

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KEFU_DATABASE_URL", "KEFU_REDIS_URL") and not k.startswith("PYTEST")
    }
    env.update(
        KEFU_DATA_DIR=str(tmp_path),
        # A model already trained by the other tests is reused; else the child trains one.
        KEFU_MODEL_CACHE=str(model_cache_root()),
        DJANGO_SETTINGS_MODULE="kefu.settings",
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["errors"] == []
    assert outcome["replies"] == 3
