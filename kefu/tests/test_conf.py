"""The settings registry (kefu.conf): every KEFU_* setting reaches django.conf.settings and the
code that uses it from the environment; `kefu config show|check|docs`; a malformed value stops
the start with one line.

Each case runs the real `kefu` command or a fresh Python in a subprocess, because settings are
read from the environment once, when Django starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kefu import conf

ROOT = Path(__file__).resolve().parents[2]
KEFU = Path(sys.executable).with_name("kefu")
README = ROOT / "README.md"


def _clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without KEFU_* settings (the test harness's own stay)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_") or k in conf.HARNESS}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["KEFU_DATA_DIR"] = os.environ.get("KEFU_DATA_DIR", str(ROOT / "var"))
    env.update(extra)
    return env


def run_kefu(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KEFU), *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def sample_value(setting: conf.Setting, tmp: Path) -> str:
    """A valid value for ``setting`` that differs from its default."""
    special = {
        "KEFU_DATA_DIR": str(tmp / "data"),
        "KEFU_DATABASE_URL": "postgres://sample:pw@127.0.0.1:5432/sample",
        "KEFU_REDIS_URL": "redis://127.0.0.1:6379/15",
        "KEFU_EMAIL_URL": "smtp://127.0.0.1:2525",
        "KEFU_IMAP_URL": "imaps://user:pw@127.0.0.1:993/INBOX",
        "KEFU_SUPPORT_EMAIL": "help@sample.example",
        "KEFU_EMAIL_FROM": "Sample <help@sample.example>",
        "KEFU_WALLET_BACKEND": "http",
        "KEFU_WALLET_RECORDS": "kefu.wallet.records.DemoWalletRecords",
        "KEFU_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "KEFU_PHONE_REGION": "US",
        "KEFU_TIME_ZONE": "Europe/Berlin",
        "KEFU_CHAIN_URLS": "ethereum=https://eth.sample.example,bitcoin=https://btc.sample.example/api",
        "KEFU_CHAIN_CONFIRMATIONS": "ethereum=3,bsc=2",
        "KEFU_IDENTITY_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\\nsample\\n-----END PUBLIC KEY-----",
    }
    if setting.name in special:
        return special[setting.name]
    kind = setting.kind
    if setting.choices and kind in {"str", "int"}:
        return next(choice for choice in setting.choices if choice != setting.default)
    if kind == "str":
        return f"sample {setting.name.lower()}"
    if kind == "secret":
        return f"sample-secret-{setting.name.lower()}-0123456789abcdef"
    if kind == "int":
        return str(int(setting.default or 0) + 7)
    if kind == "float":
        return str(float(setting.default or 0) + 1.5)
    if kind == "bool":
        return "off" if conf.value_of(setting, setting.default) else "on"
    if kind == "list":
        return "one.sample.example,two.sample.example"
    if kind == "url":
        scheme = setting.choices[0] if setting.choices else "https"
        return f"{scheme}://{setting.name.lower().replace('_', '-')}.sample.example:8443/base"
    if kind == "path":
        return str(tmp / setting.name.lower())
    if kind in {"rate", "rate_pair"}:
        return "7/70"
    if kind == "hostport":
        return "127.0.0.1:2526"
    if kind == "networks":
        return "10.0.0.0/8,192.0.2.1"
    raise AssertionError(f"no sample for kind {kind} of {setting.name}")


# What a fresh process sees: every registered setting in django.conf.settings, and the values the
# code paths that use the bug-prone ones compute.
PROBE = r"""
import json, os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "kefu.settings"
django.setup()
from django.conf import settings
from kefu import conf
out = {"settings": {s.name: repr(getattr(settings, s.name)) for s in conf.SETTINGS}}
from kefu.wallet.backend import get_wallet_backend
from kefu.identity import conf as identity_conf
from kefu.mail import conf as mail_conf
from kefu.chat.conf import chat_seconds
from kefu.wallet.chain.specs import chain_url
backend = get_wallet_backend()
out["paths"] = {
    "wallet_backend": type(backend).__name__,
    "wallet_api_url": getattr(backend, "base_url", None),
    "jwt_secret": identity_conf.jwt_secret(),
    "jwt_public_key": identity_conf.jwt_public_key(),
    "sms_url": identity_conf.sms_url(),
    "chat_sweep": chat_seconds("KEFU_CHAT_SWEEP_SECONDS"),
    "mail_worker_interval": mail_conf.worker_interval(),
    "eth_url": chain_url("ethereum"),
    "bsc_url": chain_url("bsc"),
    "debug": settings.DEBUG,
    "media_root": str(settings.MEDIA_ROOT),
    "time_zone": settings.TIME_ZONE,
}
print(json.dumps(out))
"""


def probe(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_setting_set_in_the_environment_reaches_settings_and_config_show(tmp_path: Path) -> None:
    samples = {setting.name: sample_value(setting, tmp_path) for setting in conf.SETTINGS}
    env = _clean_environ(**samples)

    shown = run_kefu("config", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    rows = {row["name"]: row for row in json.loads(shown.stdout)["settings"]}
    assert set(rows) == set(conf.BY_NAME)
    seen = probe(env)["settings"]
    for setting in conf.SETTINGS:
        row = rows[setting.name]
        assert row["source"] == "env", setting.name
        assert row["secret"] is setting.secret
        assert row["value"] == (conf.MASK if setting.secret else samples[setting.name]), setting.name
        # Django's settings hold the environment's value, not the default.
        expected = conf.value_of(setting, samples[setting.name])
        assert seen[setting.name] == repr(expected), setting.name
        assert expected != conf.value_of(setting, setting.default), setting.name


def test_config_show_reports_defaults_and_masks_only_set_secrets() -> None:
    env = _clean_environ(KEFU_SMS_TOKEN="very-secret-token")
    shown = run_kefu("config", "show", "--json", env=env)
    rows = {row["name"]: row for row in json.loads(shown.stdout)["settings"]}
    assert rows["KEFU_WALLET_BACKEND"] == {
        "name": "KEFU_WALLET_BACKEND",
        "value": "demo",
        "source": "default",
        "secret": False,
    }
    assert rows["KEFU_SMS_TOKEN"]["value"] == "***" and rows["KEFU_SMS_TOKEN"]["source"] == "env"
    assert "very-secret-token" not in shown.stdout
    text = run_kefu("config", "show", env=env).stdout
    assert "very-secret-token" not in text and "KEFU_PAGE_SIZE" in text


def test_the_code_paths_see_the_documented_settings() -> None:
    """The settings issue 12 found ignored: each one set in the environment changes behaviour."""
    env = _clean_environ(
        KEFU_WALLET_BACKEND="http",
        KEFU_WALLET_API_URL="https://wallet-api.example/kefu/v1",
        KEFU_IDENTITY_JWT_SECRET="jwt-secret-from-the-environment",
        KEFU_IDENTITY_JWT_PUBLIC_KEY="-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----",
        KEFU_SMS_URL="https://sms.example/send/",
        KEFU_CHAT_SWEEP_SECONDS="7.5",
        KEFU_MAIL_WORKER_INTERVAL="4",
        KEFU_ETH_RPC_URL="https://eth-node.example",
        KEFU_CHAIN_URLS="bsc=https://bsc-node.example",
        KEFU_DEBUG="yes",
        KEFU_TIME_ZONE="UTC",
    )
    paths = probe(env)["paths"]
    assert paths["wallet_backend"] == "HttpWalletBackend"
    assert paths["wallet_api_url"] == "https://wallet-api.example/kefu/v1"
    assert paths["jwt_secret"] == "jwt-secret-from-the-environment"
    assert paths["jwt_public_key"] == "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----"
    assert paths["sms_url"] == "https://sms.example/send"
    assert paths["chat_sweep"] == 7.5
    assert paths["mail_worker_interval"] == 4.0
    assert paths["eth_url"] == "https://eth-node.example"
    assert paths["bsc_url"] == "https://bsc-node.example"
    assert paths["debug"] is True and paths["time_zone"] == "UTC"


def test_the_wallet_backend_by_its_dotted_path_still_works() -> None:
    env = _clean_environ(
        KEFU_WALLET_BACKEND="kefu.wallet.http_backend.HttpWalletBackend",
        KEFU_WALLET_API_URL="https://wallet-api.example/v1",
    )
    assert probe(env)["paths"]["wallet_backend"] == "HttpWalletBackend"
    assert probe(_clean_environ())["paths"]["wallet_backend"] == "DemoWalletBackend"


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("KEFU_ATTACHMENT_MAX_BYTES", "ten", 'KEFU_ATTACHMENT_MAX_BYTES: "ten" is not a whole number'),
        (
            "KEFU_WALLET_API_URL",
            "wallet-api.example",
            'KEFU_WALLET_API_URL: "wallet-api.example" is not a URL',
        ),
        ("KEFU_LOGIN_RATE", "10 per minute", 'KEFU_LOGIN_RATE: "10 per minute" is not a rate'),
        ("KEFU_SECURE_COOKIES", "maybe", 'KEFU_SECURE_COOKIES: "maybe" is not a yes/no value'),
        ("KEFU_SMS_TIMEOUT", "soon", 'KEFU_SMS_TIMEOUT: "soon" is not a number'),
        ("KEFU_TIME_ZONE", "Mars/Olympus", 'KEFU_TIME_ZONE: "Mars/Olympus" is not a time zone'),
        ("KEFU_SECRET_KEY_FALLBACKS", "", None),
    ],
)
def test_a_malformed_value_fails_the_start_with_one_line(variable: str, value: str, line: str | None) -> None:
    env = _clean_environ(**{variable: value})
    result = run_kefu("migrate", env=env)
    if line is None:  # empty counts as unset
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2
    assert result.stderr.strip().startswith(line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_secret_is_named_but_not_printed() -> None:
    env = _clean_environ(KEFU_REDIS_URL="not a url with password hunter2")
    result = run_kefu("migrate", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == 'KEFU_REDIS_URL: "***" is not a URL (scheme://host...)'


def test_config_check_passes_a_clean_environment() -> None:
    result = run_kefu("config", "check", env=_clean_environ())
    assert result.returncode == 0, result.stderr
    assert "configuration ok" in result.stdout


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"KEFU_WALLET_BACKND": "http"},
            "KEFU_WALLET_BACKND: unknown setting; did you mean KEFU_WALLET_BACKEND?",
        ),
        ({"KEFU_ATTACHMENT_MAX_BYTES": "ten"}, 'KEFU_ATTACHMENT_MAX_BYTES: "ten" is not a whole number'),
        ({"KEFU_BASE_URL": "support.example"}, 'KEFU_BASE_URL: "support.example" is not a URL'),
        ({"KEFU_TICKET_CREATE_RATE": "10/0"}, 'KEFU_TICKET_CREATE_RATE: "10/0" is not a rate'),
        (
            {"KEFU_TRUSTED_PROXIES": "10.0.0.0/8,proxy"},
            "KEFU_TRUSTED_PROXIES: \"10.0.0.0/8,proxy\" lists 'proxy'",
        ),
        (
            {"KEFU_DEBUG": "1", "KEFU_ALLOWED_HOSTS": "support.example"},
            "KEFU_DEBUG: debug mode is on while KEFU_ALLOWED_HOSTS serves public hosts (support.example)",
        ),
        (
            {"KEFU_DATABASE_URL": "postgres://kefu:kefu@db:5432/kefu"},
            "KEFU_SECRET_KEY: not set while KEFU_DATABASE_URL is PostgreSQL",
        ),
        (
            {"KEFU_BASE_URL": "https://support.example"},
            "KEFU_SECURE_COOKIES: off while KEFU_BASE_URL is https",
        ),
        (
            {"KEFU_WALLET_BACKEND": "http"},
            "KEFU_WALLET_API_URL: not set while KEFU_WALLET_BACKEND is the HTTP backend",
        ),
    ],
)
def test_config_check_names_each_problem(extra: dict[str, str], expected: str) -> None:
    result = run_kefu("config", "check", env=_clean_environ(**extra))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_config_check_reports_every_problem_at_once() -> None:
    env = _clean_environ(
        KEFU_PAGE_SIZ="10", KEFU_PAGE_SIZE="many", KEFU_DEBUG="on", KEFU_ALLOWED_HOSTS="kefu.example"
    )
    result = run_kefu("config", "check", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert any(line.startswith("error: KEFU_PAGE_SIZ:") and "KEFU_PAGE_SIZE?" in line for line in lines)
    assert any(line.startswith('error: KEFU_PAGE_SIZE: "many"') for line in lines)
    assert any(line.startswith("error: KEFU_DEBUG:") for line in lines)


def test_a_well_configured_production_environment_passes_the_check() -> None:
    env = _clean_environ(
        KEFU_DATABASE_URL="postgres://kefu:kefu@db:5432/kefu",
        KEFU_SECRET_KEY="x" * 50,
        KEFU_BASE_URL="https://support.example",
        KEFU_SECURE_COOKIES="1",
        KEFU_ALLOWED_HOSTS="support.example",
        KEFU_WALLET_BACKEND="http",
        KEFU_WALLET_API_URL="https://wallet-api.example/v1",
    )
    result = run_kefu("config", "check", env=env)
    assert result.returncode == 0, result.stderr


def test_the_findings_are_system_checks(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.checks import run_checks

    settings.KEFU_DATABASE_URL = ""  # a PostgreSQL test run has no KEFU_SECRET_KEY
    assert run_checks(tags=["kefu"]) == []
    settings.KEFU_DEBUG = True
    settings.KEFU_ALLOWED_HOSTS = ["support.example"]
    monkeypatch.setenv("KEFU_BRAND_NAM", "x")
    messages = [issue.msg for issue in run_checks(tags=["kefu"])]
    assert any(m.startswith("KEFU_DEBUG: debug mode is on") for m in messages), messages
    assert "KEFU_BRAND_NAM: unknown setting; did you mean KEFU_BRAND_NAME?" in messages


def test_kefu_serve_warns_at_start(tmp_path: Path) -> None:
    """`kefu serve` prints the findings before it serves."""
    env = _clean_environ(KEFU_DATA_DIR=str(tmp_path), KEFU_SUPPORT_EMIAL="a@b.example")
    process = subprocess.Popen(
        [str(KEFU), "serve", "--no-demo", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            if "KEFU_SUPPORT_EMIAL" in line or "Uvicorn running" in line:
                break
    finally:
        process.terminate()
        process.wait(timeout=60)
    expected = "warning: KEFU_SUPPORT_EMIAL: unknown setting; did you mean KEFU_SUPPORT_EMAIL?\n"
    assert expected in seen, seen


def test_readme_configuration_table_is_the_registry() -> None:
    """Adding a setting without its row (or changing a default) fails until `kefu config docs`
    is pasted into the README."""
    table = conf.docs_table()
    assert table in README.read_text(encoding="utf-8"), "README table differs: run `kefu config docs`"
    result = run_kefu("config", "docs", env=_clean_environ())
    assert result.stdout == table


def test_no_module_reads_a_kefu_setting_from_the_environment() -> None:
    """settings.py (through kefu.conf) is the one reader; the rest read django.conf.settings.
    Writes go through conf.default_for_process, which checks the value first."""
    offenders = []
    for path in sorted((ROOT / "kefu").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if "/tests/" in relative or relative.endswith("conftest.py"):
            continue
        if relative in {"kefu/conf.py", "kefu/settings.py"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            # Reads and writes: os.environ.get/[...]/setdefault, os.getenv, os.putenv.
            touches_env = "os.environ" in line or "os.getenv(" in line or "os.putenv(" in line
            if touches_env and "KEFU_" in line:
                offenders.append(f"{relative}:{number}: {line.strip()}")
            if 'getattr(settings, "KEFU_' in line and "," in line.split('getattr(settings, "KEFU_', 1)[1]:
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_every_name_the_code_uses_is_registered() -> None:
    import re

    used: set[str] = set()
    for path in (ROOT / "kefu").rglob("*.py"):
        if "/tests/" in path.as_posix():
            continue
        used |= set(re.findall(r"\bKEFU_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")))
    assert used - set(conf.BY_NAME) - set(conf.HARNESS) == set()


def test_a_value_given_for_the_process_is_checked_and_never_overrides_the_environment(monkeypatch) -> None:
    """kefu serve's KEFU_BASE_URL from its port: set when unset, kept when the operator set it,
    refused when malformed or unregistered."""
    monkeypatch.delenv("KEFU_BASE_URL", raising=False)
    conf.default_for_process("KEFU_BASE_URL", "http://127.0.0.1:9123")
    assert os.environ["KEFU_BASE_URL"] == "http://127.0.0.1:9123"
    monkeypatch.setenv("KEFU_BASE_URL", "https://support.example")
    conf.default_for_process("KEFU_BASE_URL", "http://127.0.0.1:9123")
    assert os.environ["KEFU_BASE_URL"] == "https://support.example"
    with pytest.raises(conf.InvalidValue):
        conf.default_for_process("KEFU_BASE_URL", "not a url")
    with pytest.raises(KeyError):
        conf.default_for_process("KEFU_NO_SUCH_SETTING", "1")
