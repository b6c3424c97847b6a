"""The whole package type-checks: mypy with django-stubs, configured in pyproject.toml.

CI runs ``mypy kefu`` too (.ci/run); this test makes the README's test command cover it. It is
skipped only where mypy is not installed and KEFU_REQUIRE_MYPY is unset (``.[test]`` installs
it, so CI and ``scripts/test`` always run it).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_reports_no_errors(tmp_path: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        if os.environ.get("KEFU_REQUIRE_MYPY"):
            pytest.fail("KEFU_REQUIRE_MYPY is set but mypy is not installed (pip install -e '.[test]')")
        pytest.skip("mypy is not installed")
    # The Django plugin imports kefu.settings: give it a data dir of its own, and no
    # KEFU_* variable from the test run's environment (a test may have set one).
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env["KEFU_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "kefu"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
