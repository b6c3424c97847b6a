"""The public check: the API endpoint and the verify page."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.trust.demo import load_demo_channels

pytestmark = [pytest.mark.django_db, pytest.mark.urls("kefu.trust.tests.urls")]

API = "/trust-test-api/channels/check"
PAGE = "/trust-test/verify/"


@pytest.fixture
def demo_channels() -> None:
    load_demo_channels()


def test_api_says_official_without_authentication(client: Client, demo_channels: None) -> None:
    response = client.get(API, {"kind": "website", "value": "https://help.lumenwallet.example/x"})
    assert response.status_code == 200
    body = response.json()
    assert body["official"] is True
    assert body["kind"] == "website"
    assert body["normalized"] == "help.lumenwallet.example"
    assert body["lookalike_of"] is None
    assert body["matched"] == "lumenwallet.example"
    assert body["advice"]


def test_api_calls_out_a_lookalike(client: Client, demo_channels: None) -> None:
    from kefu.trust.actions import do_add_official_channel

    do_add_official_channel(kind="telegram", value="@LumenWalletSupport")  # an operator's own handle
    response = client.get(API, {"kind": "telegram", "value": "t.me/LumenWallet_Support"})
    body = response.json()
    assert response.status_code == 200
    assert (body["official"], body["normalized"], body["lookalike_of"]) == (
        False,
        "lumenwallet_support",
        "lumenwalletsupport",
    )


def test_api_unknown_is_not_official(client: Client, demo_channels: None) -> None:
    body = client.get(API, {"kind": "phone", "value": "+86 138 0013 8000"}).json()
    assert body == {**body, "official": False, "normalized": "+8613800138000", "lookalike_of": None}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "phone", "value": "call me"}, "value"),
        ({"kind": "website", "value": "   "}, "value"),
        ({"kind": "fax", "value": "123"}, "kind"),
    ],
)
def test_api_rejects_bad_input(client: Client, params: dict, field: str) -> None:
    response = client.get(API, params)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert list(body["errors"]) == [field]
    assert body["errors"][field][0]


def test_api_error_follows_the_language(client: Client) -> None:
    response = client.get(API, {"kind": "phone", "value": "call me"}, headers={"accept-language": "en"})
    assert "phone number" in response.json()["errors"]["value"][0]


def test_verify_page_shows_an_empty_form(client: Client) -> None:
    response = client.get(PAGE)
    assert response.status_code == 200
    content = response.content.decode()
    assert '<select name="kind"' in content
    assert 'name="value"' in content
    assert 'id="verify-result"' not in content


@pytest.mark.parametrize(
    ("kind", "value", "state"),
    [
        ("website", "lumenwallet.example", "official"),
        ("website", "https://lumenwallet.example@evil.example/", "lookalike"),
        ("email", "support@lumenwa11et.example", "lookalike"),
        ("x", "someone_else", "unofficial"),
    ],
)
def test_verify_page_shows_the_result(
    client: Client, demo_channels: None, kind: str, value: str, state: str
) -> None:
    response = client.get(PAGE, {"kind": kind, "value": value}, headers={"accept-language": "en"})
    assert response.status_code == 200
    content = response.content.decode()
    assert f'data-result="{state}"' in content
    if state != "official":
        assert "Not official" in content


def test_verify_page_shows_a_form_error_for_bad_input(client: Client) -> None:
    response = client.get(PAGE, {"kind": "phone", "value": "call me"}, headers={"accept-language": "en"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "has-error" in content
    assert 'id="verify-result"' not in content


def test_verify_page_escapes_what_it_shows(client: Client) -> None:
    response = client.get(PAGE, {"kind": "x", "value": "<script>"})
    assert b"<script>" not in response.content


def test_verify_page_lists_the_official_channels_by_kind(client: Client, demo_channels: None) -> None:
    """Customers see what is official, not only what is not."""
    content = client.get(PAGE, headers={"accept-language": "en"}).content.decode()
    listing = content.split('id="official-channels"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Website</dt>" in listing and "lumenwallet.example" in listing
    assert "<dt>Email</dt>" in listing and "support@lumenwallet.example" in listing
    assert "<dt>X (Twitter)</dt>" in listing and "@lumenwallet" in listing
    assert "Telegram" not in listing and "Phone" not in listing  # none registered: none listed
    assert listing.index("Website") < listing.index("Email")  # ChannelKind's order
    zh = client.get(PAGE, headers={"accept-language": "zh-hans"}).content.decode()
    assert "<dt>Website</dt>" not in zh and "support@lumenwallet.example" in zh


def test_pasted_punycode_is_judged_and_shown_in_unicode(client: Client, demo_channels: None) -> None:
    pasted = "xn--umenwallet-329e.example"  # "ⅼumenwallet.example", a label IDNA 2008 refuses
    content = client.get(
        PAGE, {"kind": "website", "value": pasted}, headers={"accept-language": "en"}
    ).content.decode()
    assert 'data-result="lookalike"' in content and "has-error" not in content
    assert 'id="verify-unicode">ⅼumenwallet.example<' in content
    body = client.get(API, {"kind": "website", "value": pasted}).json()
    assert body["unicode"] == "ⅼumenwallet.example" and body["lookalike_of"] == "lumenwallet.example"
