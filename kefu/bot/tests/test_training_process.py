"""A process that finds no cached intent model (a first start) trains it in a child process and
loads the saved model: training's working memory never stays in a serving process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_first_start_trains_in_a_child_and_loads_the_saved_model(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from kefu.bot.engine import default_engine\n"
        "engine = default_engine()\n"
        "print(engine.predict('我的提币一直没到账').intent)\n"
        # scikit-learn is only imported to train: loading a saved model needs numpy and scipy.
        "print('sklearn' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "KEFU_MODEL_CACHE": str(tmp_path), "DJANGO_SETTINGS_MODULE": ""},
    )
    assert result.returncode == 0, result.stderr
    intent, trained_here = result.stdout.split()
    assert intent.startswith("withdrawal")
    assert trained_here == "False"
    assert [p.name.startswith("intent-") for p in tmp_path.iterdir()] == [True]  # saved once, no staging left
