"""The settings registry's findings as Django system checks, so ``kefu serve`` warns at start.

The same findings as ``kefu config check`` (``kefu.conf``), read from the settings in force (a
test's overrides included) and the environment's ``KEFU_*`` names. Warnings, not errors: a
server that starts and says what is wrong beats one that refuses to start over a typo.
Malformed values never get here: settings.py refuses them before Django starts.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks

from kefu import conf


@checks.register("kefu")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    values = {setting.name: getattr(settings, setting.name) for setting in conf.SETTINGS}
    problems = [
        *conf.unknown_variables(os.environ),
        *conf.dangerous_combinations(values, conf.sources(os.environ)),
    ]
    return [
        checks.Warning(problem.message, id=f"kefu.W{index:03d}")
        for index, problem in enumerate(problems, start=1)
    ]
