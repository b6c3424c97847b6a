"""`kefu phone call` against a live server (real HTTP), reading key presses from stdin."""

from __future__ import annotations

import io
import sys

import pytest

from kefu.cli import main
from kefu.inbox.models import Inbox, InboxKind
from kefu.phone.models import Call
from kefu.phone.tests.conftest import ACCOUNT_SID, AUTH_TOKEN, HOTLINE


def test_the_simulator_refuses_to_run_without_a_token(settings, capsys):
    settings.KEFU_TWILIO_AUTH_TOKEN = ""
    assert main(["phone", "call"]) == 2
    assert "KEFU_TWILIO_AUTH_TOKEN" in capsys.readouterr().err


def test_the_simulator_says_why_it_cannot_sign_for_telnyx(settings, capsys):
    settings.KEFU_PHONE_PROVIDER = "telnyx"
    settings.KEFU_TWILIO_AUTH_TOKEN = AUTH_TOKEN
    assert main(["phone", "call"]) == 2
    assert "KEFU_PHONE_PROVIDER=twilio" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_kefu_phone_call_plays_a_call_over_http(live_server, settings, provider, monkeypatch, capsys):
    """Keys from stdin: no key (Chinese), 9 (a call-back); the printed <Say>s include the case
    number read digit by digit, and the call and its case exist."""
    settings.KEFU_PUBLIC_URL = live_server.url
    settings.KEFU_TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.KEFU_TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.KEFU_TWILIO_API_URL = provider.base_url
    settings.KEFU_PHONE_NUMBER = HOTLINE
    Inbox.objects.get_or_create(kind=InboxKind.VOICE, name="Hotline")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n9\n"))
    assert main(["phone", "call", "--from", "+8613912345678"]) == 0
    out = capsys.readouterr().out
    call = Call.objects.select_related("ticket").get()
    digits = " ".join(call.ticket.case_number.replace("KF-", "").replace("-", ""))
    assert "[zh-CN]" in out and digits in out
    assert call.status == "completed" and call.outcome == "callback"
