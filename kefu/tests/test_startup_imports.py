"""What a serving process imports at start-up: the providers' HTTP client waits for first use.

Issue 13's memory bar (one serving process under 200 MB after start) is a few MB from the
line; httpx and its dependencies are about 5 MB in a process that never calls a provider
(`scripts/bench_rss.py`, docs/benchmarks.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
import kefu.asgi  # what kefu serve loads: settings, apps, the ASGI application
from django.urls import get_resolver
get_resolver().url_patterns  # every app's views and APIs
print(",".join(sorted(m for m in ("httpx",) if m in sys.modules)) or "-")
"""


def test_a_serving_process_does_not_import_httpx_at_start(tmp_path):
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path)}
    env.pop("KEFU_DATABASE_URL", None)  # start-up imports do not depend on the database
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "-"
