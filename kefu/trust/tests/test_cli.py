"""``kefu guard scan`` and ``kefu channels add|check`` as a shell user runs them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from mnemonic import Mnemonic

KEFU = str(Path(sys.executable).with_name("kefu"))


def run(args: list[str], *, data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess:
    # The command gets its own SQLite database in data_dir, never the server the tests run on.
    env = {k: v for k, v in os.environ.items() if k not in ("KEFU_DATABASE_URL", "KEFU_REDIS_URL")}
    env["KEFU_DATA_DIR"] = str(data_dir)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [KEFU, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120, cwd=data_dir
    )


def test_guard_scan_reads_and_writes_json_lines(tmp_path: Path) -> None:
    phrase = Mnemonic("english").generate(128)
    key = secrets.token_hex(32)
    lines = [
        json.dumps({"text": f"mnemonic: {phrase}"}),
        "this is not json",
        json.dumps({"text": f"私钥 {key}"}, ensure_ascii=False),
        "",
        json.dumps({"no_text": 1}),
        json.dumps({"text": "tx hash 0x" + key}),
    ]
    result = run(["guard", "scan", "--language", "en"], data_dir=tmp_path, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["secret"] is True and phrase not in out[0]["redacted"]
    assert out[0]["findings"] == [{"kind": "mnemonic", "start": 10, "end": 10 + len(phrase)}]
    assert "error" in out[1]
    assert out[2]["redacted"] == "私钥 [hidden: possible private key]"
    assert "error" in out[3]
    assert out[4] == {"secret": False, "redacted": "tx hash 0x" + key, "findings": []}
    assert not (tmp_path / "kefu.sqlite3").exists()  # the guard needs no database


def test_channels_add_and_check(tmp_path: Path) -> None:
    added = run(
        ["channels", "add", "--kind", "website", "https://LumenWallet.example/", "--label", "Site"],
        data_dir=tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["normalized"] == "lumenwallet.example"

    official = run(["channels", "check", "--kind", "website", "help.lumenwallet.example"], data_dir=tmp_path)
    assert official.returncode == 0, official.stderr
    body = json.loads(official.stdout)
    assert (body["official"], body["kind"], body["normalized"], body["lookalike_of"]) == (
        True,
        "website",
        "help.lumenwallet.example",
        None,
    )

    lookalike = json.loads(
        run(["channels", "check", "--kind", "website", "lumenwa11et.example"], data_dir=tmp_path).stdout
    )
    assert (lookalike["official"], lookalike["lookalike_of"]) == (False, "lumenwallet.example")


@pytest.mark.parametrize(
    "args",
    [
        ["channels", "check", "--kind", "phone", "call me"],
        ["channels", "add", "--kind", "website", "not a domain"],
        ["channels", "check", "--kind", "telegram", ""],
    ],
)
def test_channels_bad_input_exits_2_with_a_message(tmp_path: Path, args: list[str]) -> None:
    result = run(args, data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip()
    assert result.stdout == ""
