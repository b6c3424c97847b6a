"""Channel values are normalised one way, and look-alikes of official channels are called out."""

from __future__ import annotations

import pytest

from kefu.trust.verifier import (
    InvalidChannelValue,
    edit_distance,
    evaluate,
    normalize,
    registrable_domain,
    skeleton,
)

REGISTRY = [
    ("website", "lumenwallet.example"),
    ("email", "support@lumenwallet.example"),
    ("phone", "+12025550147"),
    ("telegram", "lumenwalletsupport"),
    ("x", "lumenwallet"),
]


def check(kind: str, value: str):
    n = normalize(kind, value)
    return evaluate(n.kind, n.value, REGISTRY, decoy=n.decoy)


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("lumenwallet.example", "lumenwallet.example"),
        ("https://lumenwallet.example/path?q=1#top", "lumenwallet.example"),
        ("HTTPS://LUMENWALLET.EXAMPLE/", "lumenwallet.example"),
        ("lumenwallet.example.", "lumenwallet.example"),
        ("https://lumenwallet.example.:443/x", "lumenwallet.example"),
        ("https://brand.com@evil.example/x", "evil.example"),
        ("https://user:pass@evil.example:8443", "evil.example"),
        ("https://lumenwallet.example#@evil.example", "lumenwallet.example"),
        ("https://evil.example\\@lumenwallet.example", "evil.example"),
        ("ｌｕｍｅｎｗａｌｌｅｔ．ｅｘａｍｐｌｅ", "lumenwallet.example"),
        ("lumenwallet。example", "lumenwallet.example"),
        ("http:/lumenwallet.example", "lumenwallet.example"),
        ("//lumenwallet.example", "lumenwallet.example"),
        ("lumenwаllet.example", "xn--lumenwllet-4qi.example"),  # Cyrillic а, shown as punycode
        ("xn--lumenwllet-4qi.example", "xn--lumenwllet-4qi.example"),
        ("http://192.0.2.10/login", "192.0.2.10"),
        ("https://%65vil.example/", "evil.example"),
    ],
)
def test_website_normalisation(value: str, expected: str) -> None:
    assert normalize("website", value).value == expected


@pytest.mark.parametrize(
    "value", ["", "   ", "not a domain", "localhost", "bad_host.example", "https://", "1234"]
)
def test_bad_website_values_are_rejected(value: str) -> None:
    with pytest.raises(InvalidChannelValue) as info:
        normalize("website", value)
    assert str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Support@LumenWallet.Example", "support@lumenwallet.example"),
        ("mailto:support@lumenwallet.example?subject=hi", "support@lumenwallet.example"),
        ("Lumen Wallet <support@lumenwallet.example>", "support@lumenwallet.example"),
        ("support@ｌｕｍｅｎｗａｌｌｅｔ．ｅｘａｍｐｌｅ", "support@lumenwallet.example"),
        ("help@bücher.example", "help@xn--bcher-kva.example"),
    ],
)
def test_email_normalisation(value: str, expected: str) -> None:
    assert normalize("email", value).value == expected


@pytest.mark.parametrize(
    "value", ["support", "@lumenwallet.example", "a@b", "a b@example.com", "x@https://e.example/"]
)
def test_bad_email_values_are_rejected(value: str) -> None:
    with pytest.raises(InvalidChannelValue):
        normalize("email", value)


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("+1 202-555-0147", None, "+12025550147"),
        ("+1 (202) 555 0147", None, "+12025550147"),
        ("tel:+1-202-555-0147", None, "+12025550147"),
        ("+86 138 0013 8000", None, "+8613800138000"),
        ("138 0013 8000", None, "+8613800138000"),  # default region CN
        ("0086 138 0013 8000", None, "+8613800138000"),
        ("(202) 555-0147", "US", "+12025550147"),
        ("＋１ ２０２ ５５５ ０１４７", None, "+12025550147"),
    ],
)
def test_phone_normalisation(value: str, region: str | None, expected: str) -> None:
    assert normalize("phone", value, region=region).value == expected


def test_default_phone_region_comes_from_settings(settings) -> None:
    settings.KEFU_PHONE_REGION = "US"
    assert normalize("phone", "(202) 555-0147").value == "+12025550147"


@pytest.mark.parametrize("value", ["hello", "12", "call me maybe", "+1 2"])
def test_bad_phone_values_are_rejected(value: str) -> None:
    with pytest.raises(InvalidChannelValue):
        normalize("phone", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://t.me/LumenWalletSupport", "lumenwalletsupport"),
        ("t.me/lumenwalletsupport", "lumenwalletsupport"),
        ("telegram.me/LumenWalletSupport/123", "lumenwalletsupport"),
        ("https://t.me/s/LumenWalletSupport", "lumenwalletsupport"),
        ("@LumenWalletSupport", "lumenwalletsupport"),
        ("LUMENWALLETSUPPORT", "lumenwalletsupport"),
        ("tg://resolve?domain=LumenWalletSupport", "lumenwalletsupport"),
        ("123456789", "123456789"),
        ("-1001234567890", "-1001234567890"),
        ("https://t.me/+AbCdEfGhIjKl", "+AbCdEfGhIjKl"),
        ("https://t.me/joinchat/AbCdEfGhIjKl", "+AbCdEfGhIjKl"),
    ],
)
def test_telegram_normalisation(value: str, expected: str) -> None:
    assert normalize("telegram", value).value == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://x.com/LumenWallet", "lumenwallet"),
        ("x.com/LumenWallet/status/1234", "lumenwallet"),
        ("https://twitter.com/lumenwallet", "lumenwallet"),
        ("mobile.twitter.com/LumenWallet?s=20", "lumenwallet"),
        ("@LumenWallet", "lumenwallet"),
        ("LumenWallet", "lumenwallet"),
    ],
)
def test_x_normalisation(value: str, expected: str) -> None:
    assert normalize("x", value).value == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [("telegram", "ab"), ("telegram", "t.me/"), ("telegram", "has space"), ("x", "x.com/home"),
     ("x", "name-with-dash"), ("x", "waytoolonghandle1234")],
)  # fmt: skip
def test_bad_handles_are_rejected(kind: str, value: str) -> None:
    with pytest.raises(InvalidChannelValue):
        normalize(kind, value)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(InvalidChannelValue):
        normalize("fax", "123")


def test_profile_links_given_as_websites_are_checked_as_handles() -> None:
    assert normalize("website", "https://t.me/LumenWalletSupport").kind == "telegram"
    assert normalize("website", "https://x.com/LumenWallet").kind == "x"
    assert normalize("website", "https://x.com/").kind == "website"


# --------------------------------------------------------------------------- official


@pytest.mark.parametrize(
    ("kind", "value", "matched"),
    [
        ("website", "https://lumenwallet.example/", "lumenwallet.example"),
        ("website", "LUMENWALLET.EXAMPLE.", "lumenwallet.example"),
        ("website", "https://help.lumenwallet.example/articles/1", "lumenwallet.example"),
        ("website", "ｌｕｍｅｎｗａｌｌｅｔ．ｅｘａｍｐｌｅ", "lumenwallet.example"),
        ("website", "ⅼumenwallet.example", "lumenwallet.example"),  # maps to "l": the same host
        ("email", "SUPPORT@lumenwallet.example", "support@lumenwallet.example"),
        ("email", "noreply@mail.lumenwallet.example", "lumenwallet.example"),
        ("phone", "+1 (202) 555-0147", "+12025550147"),
        ("telegram", "t.me/LumenWalletSupport", "lumenwalletsupport"),
        ("x", "twitter.com/LUMENWALLET", "lumenwallet"),
    ],
)
def test_official_channels_are_recognised(kind: str, value: str, matched: str) -> None:
    result = check(kind, value)
    assert result.official
    assert result.matched == matched
    assert result.lookalike_of is None


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("website", "https://lumenwallet.example@evil.example/login"),  # userinfo trick
        ("website", "lumenwаllet.example"),  # Cyrillic а
        ("website", "lumenwaIlet.example"),  # capital I for l
        ("website", "lumenwa11et.example"),  # digits for letters
        ("website", "1umenwa11et.example"),
        ("website", "lurnenwallet.example"),  # rn for m
        ("website", "lumenvvallet.example"),  # vv for w
        ("website", "lumenwallet-support.example"),  # brand inside another domain
        ("website", "support-lumenwallet.com.cn"),
        ("website", "lumenwallet.example.evil.example"),  # brand as a subdomain of another domain
        ("website", "lumen-wallet.example"),
        ("website", "lumenwallet.com"),  # same name, other suffix
        ("website", "lumenwalet.example"),  # edit distance 1
        ("website", "lumenwallte.example"),  # swapped letters
        ("website", "lumanwallett.example"),  # edit distance 2
        ("email", "support@lumenwa11et.example"),
        ("email", "lumenwallet.help@freemail.example"),
        ("telegram", "t.me/LumenWallet_Support"),
        ("telegram", "@LumenWaIletSupport"),
        ("telegram", "lumenwalletsupport_bot"),
        ("telegram", "lumenwallet"),
        ("x", "LumenWa11et"),
        ("x", "lumenwallet_cn"),
        ("x", "lumenwalet"),
        ("phone", "+1 202-555-0148"),
    ],
)
def test_lookalikes_are_called_out(kind: str, value: str) -> None:
    result = check(kind, value)
    assert not result.official
    assert result.lookalike_of is not None, result
    assert result.lookalike_of in {v for _, v in REGISTRY}


def test_lookalike_points_to_the_official_channel_of_the_same_kind() -> None:
    assert check("telegram", "lumenwallet_official").lookalike_of == "lumenwalletsupport"
    assert check("email", "support@lumenwa11et.example").lookalike_of == "support@lumenwallet.example"
    assert check("website", "lumenwa11et.example").lookalike_of == "lumenwallet.example"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("website", "wallet.example"),
        ("website", "example.com"),
        ("website", "lumen.example"),
        ("website", "http://192.0.2.10/"),
        ("email", "alice@example.com"),
        ("phone", "+86 138 0013 8000"),
        ("telegram", "cool_trader_99"),
        ("telegram", "123456789"),
        ("x", "someone"),
    ],
)
def test_unrelated_channels_are_not_official_and_not_lookalikes(kind: str, value: str) -> None:
    """Not found is never "safe": the result says not official, without a look-alike."""
    result = check(kind, value)
    assert not result.official
    assert result.lookalike_of is None
    assert result.matched is None


def test_empty_registry_says_not_official() -> None:
    n = normalize("website", "lumenwallet.example")
    result = evaluate(n.kind, n.value, [])
    assert (result.official, result.lookalike_of, result.matched) == (False, None, None)


def test_registrable_domain_rule() -> None:
    assert registrable_domain("help.lumenwallet.example") == "lumenwallet.example"
    assert registrable_domain("lumenwallet.example.evil.example") == "evil.example"
    assert registrable_domain("a.b.brand.com.cn") == "brand.com.cn"
    assert registrable_domain("shop.brand.co.uk") == "brand.co.uk"
    assert registrable_domain("brand.com.hk") == "brand.com.hk"


def test_skeleton_and_edit_distance() -> None:
    assert (
        skeleton("lumenwаllet")
        == skeleton("lumenwallet")
        == skeleton("LUMENWA11ET")
        == skeleton("lurnenwaiiet")
    )
    assert edit_distance("lumenwallet", "lumenwalet") == 1
    assert edit_distance("lumenwallet", "lumenwallte") == 1
    assert edit_distance("abc", "xyz", limit=1) == 2


def punycode(host: str) -> str:
    """The xn-- form a scammer pastes, label by label, without IDNA's validity checks."""
    return ".".join(
        "xn--" + label.encode("punycode").decode() if not label.isascii() else label
        for label in host.split(".")
    )


@pytest.mark.parametrize(
    "shown",
    [
        "ⅼumenwallet.example",  # ROMAN NUMERAL FIFTY for l: IDNA 2008 refuses the label
        "lumen\u00adwallet.example",  # a soft hyphen hides in the name
        "lumenwallet✓.example",  # a symbol
        "lumenwаllet.example",  # Cyrillic а (valid IDNA: decoded the strict way)
    ],
)
def test_pasted_punycode_is_decoded_and_judged(shown: str) -> None:
    """A pasted xn-- name is read, shown in its Unicode form and called a look-alike."""
    pasted = punycode(shown)
    assert pasted.startswith("xn--")
    result = check("website", f"https://{pasted.upper()}/login")
    assert result.normalized == pasted.lower()
    assert result.unicode == shown
    assert not result.official and result.lookalike_of == "lumenwallet.example"
    email = check("email", f"support@{pasted}")
    assert email.unicode == f"support@{shown}" and email.lookalike_of == "support@lumenwallet.example"


def test_plain_ascii_names_have_no_unicode_form_and_broken_punycode_is_refused() -> None:
    assert check("website", "lumenwallet.example").unicode == ""
    for bad in ("xn--.example", "xn--a-.example", "xn--ab_c.example"):
        with pytest.raises(InvalidChannelValue):
            normalize("website", bad)


def test_a_telegram_handle_is_compared_with_telegram_handles_only() -> None:
    """With no Telegram account registered, a handle using the brand is not official, and never
    "an imitation of" the support email or website."""
    registry = [
        ("website", "lumenwallet.example"),
        ("email", "support@lumenwallet.example"),
        ("x", "lumenwallet"),
    ]
    for handle in ("lumenwallet_support", "lumenwallet", "support"):
        n = normalize("telegram", handle)
        result = evaluate(n.kind, n.value, registry)
        assert not result.official and result.lookalike_of is None, (handle, result)
    n = normalize("telegram", "lumenwallet_support")
    with_telegram = evaluate(n.kind, n.value, [*registry, ("telegram", "lumenwallet")])
    assert with_telegram.lookalike_of == "lumenwallet"
