"""``kefu mail receive``: the pipe an MTA (Postfix pipe(8), Exim) hands each mail to."""

from __future__ import annotations

import argparse
import io
import types

import pytest

from kefu.mail import cli
from kefu.mail.models import InboundMail, InboundSource, InboundStatus
from kefu.mail.tests.conftest import SUPPORT, load

pytestmark = pytest.mark.django_db


def run_receive(monkeypatch, raw: bytes, sender: str | None = "daniel.reed@corp.example") -> int:
    monkeypatch.setattr(cli.sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(raw)))
    return cli.cmd_receive(argparse.Namespace(sender=sender, recipient=[SUPPORT]))


def test_piped_mail_is_stored_and_exit_codes_follow_sysexits(monkeypatch, mail_settings, capsys):
    assert run_receive(monkeypatch, load("outlook_html_plain.eml")) == cli.EX_OK
    row = InboundMail.objects.get()
    assert (row.source, row.status) == (InboundSource.CLI, InboundStatus.PENDING)
    assert capsys.readouterr().out.strip() == str(row.pk)

    mail_settings.KEFU_MAIL_MAX_BYTES = 100
    assert run_receive(monkeypatch, load("gmail.eml")) == cli.EX_DATAERR  # the MTA bounces it

    def down(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("kefu.mail.actions.do_accept_inbound", down)
    mail_settings.KEFU_MAIL_MAX_BYTES = 10**6
    assert run_receive(monkeypatch, load("gmail.eml")) == cli.EX_TEMPFAIL  # the MTA retries
    assert InboundMail.objects.count() == 1
