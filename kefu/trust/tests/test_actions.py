"""The official-channel registry: adding is normalised, idempotent and audited."""

from __future__ import annotations

import pytest

from kefu.audit.models import AuditEvent
from kefu.trust.actions import do_add_official_channel, do_remove_official_channel, do_update_official_channel
from kefu.trust.demo import DEMO_CHANNELS, load_demo_channels
from kefu.trust.models import OfficialChannel
from kefu.trust.selectors import official_channel_pairs, official_channels
from kefu.trust.verifier import InvalidChannelValue, check_channel

pytestmark = pytest.mark.django_db


def test_adding_a_channel_stores_its_normal_form_and_is_audited() -> None:
    channel = do_add_official_channel(kind="website", value=" https://LumenWallet.example/ ", label="Site")
    assert (channel.kind, channel.value, channel.normalized, channel.label) == (
        "website",
        "https://LumenWallet.example/",
        "lumenwallet.example",
        "Site",
    )
    event = AuditEvent.objects.get(action="trust.official_channel_added")
    assert event.target_id == "website:lumenwallet.example"


def test_adding_the_same_channel_again_keeps_one_row() -> None:
    first = do_add_official_channel(kind="telegram", value="@LumenWalletSupport")
    again = do_add_official_channel(kind="telegram", value="https://t.me/lumenwalletsupport", label="TG")
    assert first.pk == again.pk
    assert OfficialChannel.objects.count() == 1
    assert OfficialChannel.objects.get().label == "TG"


def test_bad_value_is_not_stored() -> None:
    with pytest.raises(InvalidChannelValue):
        do_add_official_channel(kind="phone", value="not a number")
    assert not OfficialChannel.objects.exists()


def test_update_and_remove() -> None:
    channel = do_add_official_channel(kind="website", value="lumenwallet.example")
    do_update_official_channel(
        channel=channel, kind="website", value="https://www.lumenwallet.example", label="W"
    )
    assert official_channel_pairs() == [("website", "www.lumenwallet.example")]
    do_remove_official_channel(channel=channel)
    assert not official_channels().exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "trust.official_channel_added",
        "trust.official_channel_changed",
        "trust.official_channel_removed",
    }


def test_demo_channels_load_once_and_are_official() -> None:
    load_demo_channels()
    load_demo_channels()
    assert OfficialChannel.objects.count() == len(DEMO_CHANNELS)
    for kind, value, _label in DEMO_CHANNELS:
        assert check_channel(kind=kind, value=value).official
    result = check_channel(kind="website", value="https://lumenwallet-support.example/login")
    assert not result.official and result.lookalike_of == "lumenwallet.example"


def test_check_reads_the_registry_in_one_query(django_assert_num_queries) -> None:
    load_demo_channels()
    with django_assert_num_queries(1):
        check_channel(kind="website", value="help.lumenwallet.example")
