"""Settings for running the chat tests before the app is wired into ``kefu.settings``.

``pytest --ds kefu.chat.tests.settings kefu/chat``; once ``kefu.chat`` is in INSTALLED_APPS and
its URLs are included, the same tests run under the normal settings.
"""

from kefu.settings import *  # noqa: F403
from kefu.settings import INSTALLED_APPS

if "kefu.chat" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "kefu.chat"]
ROOT_URLCONF = "kefu.chat.tests.urls"

# As recommended for kefu/settings.py (see docs/chat.md): without Redis, the in-memory layer
# that stays O(1) per message, and room for bursts before a channel drops events.
if not REDIS_URL:  # noqa: F405
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "kefu.chat.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }
else:
    CHANNEL_LAYERS["default"].setdefault("CONFIG", {})["capacity"] = 1000  # noqa: F405
