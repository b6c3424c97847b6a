"""The voice inbox's adapter: the kind, the signature check and the health the admin sees."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from twilio.request_validator import RequestValidator

from kefu.inbox.adapters.base import RequestRefused, adapter_for
from kefu.inbox.models import InboxKind
from kefu.phone.tests.conftest import AUTH_TOKEN, PUBLIC_URL, fixture


def test_health_names_what_is_missing(hotline, settings):
    adapter = adapter_for(InboxKind.VOICE)
    assert adapter.channel == "phone" and adapter.health(hotline).ok
    settings.KEFU_PHONE_NUMBER = ""
    settings.KEFU_TWILIO_AUTH_TOKEN = ""
    health = adapter.health(hotline)
    assert (
        not health.ok and "KEFU_TWILIO_AUTH_TOKEN" in health.detail and "KEFU_PHONE_NUMBER" in health.detail
    )


def test_verify_refuses_an_unsigned_request(hotline):
    adapter = adapter_for(InboxKind.VOICE)
    params = fixture("voice_incoming.json")
    unsigned = RequestFactory().post("/phone/twilio/voice", data=params)
    with pytest.raises(RequestRefused):
        adapter.verify(hotline, unsigned)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + "/phone/twilio/voice", params)
    signed = RequestFactory().post("/phone/twilio/voice", data=params, HTTP_X_TWILIO_SIGNATURE=signature)
    adapter.verify(hotline, signed)
