"""The fictional demo brand's official channels."""

from __future__ import annotations

from kefu.trust.actions import do_add_official_channel
from kefu.trust.models import OfficialChannel

DEMO_CHANNELS = (
    ("website", "https://lumenwallet.example", "Official website"),
    ("email", "support@lumenwallet.example", "Support email"),
    # The help centre tells customers there is no phone hotline and no support chat group:
    # any number or group claiming to be support must come out "not official".
    ("x", "https://x.com/LumenWallet", "X (Twitter)"),
)


def load_demo_channels() -> list[OfficialChannel]:
    """Register the demo channels; running it again changes nothing."""
    return [
        do_add_official_channel(kind=kind, value=value, label=label) for kind, value, label in DEMO_CHANNELS
    ]
