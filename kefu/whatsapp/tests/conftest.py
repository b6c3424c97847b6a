from __future__ import annotations

import pytest

from kefu.whatsapp.tests.fake_graph import PHONE_NUMBER_ID, FakeGraph

VERIFY_TOKEN = "verify-me-9f2c"
APP_SECRET = "app-secret-4b1d77"


@pytest.fixture
def graph(settings):
    """The local Graph API, and Kefu's WhatsApp settings pointing at it."""
    fake = FakeGraph().start()
    settings.KEFU_WHATSAPP_VERIFY_TOKEN = VERIFY_TOKEN
    settings.KEFU_WHATSAPP_APP_SECRET = APP_SECRET
    settings.KEFU_WHATSAPP_ACCESS_TOKEN = fake.token
    settings.KEFU_WHATSAPP_PHONE_NUMBER_ID = PHONE_NUMBER_ID
    settings.KEFU_WHATSAPP_API_URL = fake.url
    yield fake
    fake.stop()
