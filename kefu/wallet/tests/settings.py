"""Kefu's settings with the wallet app and its URLs added, for as long as the project does not
include them itself (``pytest --ds kefu.wallet.tests.settings``). Harmless once it does."""

from kefu.settings import *  # noqa: F403
from kefu.settings import INSTALLED_APPS

if "kefu.wallet" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "kefu.wallet"]
ROOT_URLCONF = "kefu.wallet.tests.urls"
