"""Dependencies between apps point one way: the import-linter contracts in pyproject.toml hold.

CI runs ``lint-imports`` too (.ci/run); this test makes the README's test command cover it
(``.[test]`` installs import-linter).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept(tmp_path: Path) -> None:
    """kefu.tickets imports no channel app; kefu.mail and kefu.bot do not import kefu.chat;
    kefu.csat imports no channel app (events and the bot's LiveHandoff point the other way)."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), "import-linter is not installed: pip install -e '.[test]'"
    env = {key: value for key, value in os.environ.items() if not key.startswith("KEFU_")}
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "0 broken" in result.stdout
