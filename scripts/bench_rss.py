"""Benchmark: resident memory of one serving process (``kefu serve``) with the bot loaded.

    .venv/bin/python scripts/bench_rss.py [--data-dir DIR] [--keep]

Starts ``kefu serve`` twice on one data directory (a new temporary one unless ``--data-dir``):

1. first start: an empty database, so the demo data is loaded, and no cached intent model, so
   it is trained (in a child process since this session's change; in the serving process
   before);
2. restart: the same data directory, the model loaded from its cache.

Each time it waits until the server answers and its start-up thread (search index, jieba, the
bot's model) is done, sends a few requests that touch the bot, the help centre and ticket
search (a signed-in agent), waits until the process is idle again and prints its VmRSS and
VmHWM (peak) from /proc. Uses ``KEFU_DATABASE_URL`` when set (its database must be empty for
the first start to load the demo), else SQLite in the data directory. Numbers, no assertions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, wait_s: float = 600) -> None:
    """Until the process uses under 5 % of a core for two seconds in a row."""
    deadline = time.monotonic() + wait_s
    before, quiet = cpu_seconds(pid), 0
    while time.monotonic() < deadline and quiet < 2:
        time.sleep(1)
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now - before < 0.05 else 0
        before = now


def exercise(base: str) -> None:
    """Requests that load what serving needs: pages, the bot, help-centre and ticket search."""
    import httpx

    with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as client:
        client.get("/")
        client.get("/help/search/", params={"q": "提币 没到账"})
        client.post("/api/v1/bot/messages", json={"text": "我的提币一直没到账"})
        client.get("/accounts/login/")
        token = client.cookies.get("csrftoken", "")
        client.post(
            "/accounts/login/",
            data={
                "username": "agent@example.com",
                "password": "kefu-demo-2026",
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": base + "/accounts/login/"},
        )
        client.get("/workspace/", params={"q": "充值 未到账"})
        client.get("/workspace/")


def one_start(label: str, env: dict[str, str]) -> None:
    import httpx

    port = free_port()
    t0 = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "kefu", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/accounts/login/", timeout=2)
                break
            except httpx.HTTPError:
                if server.poll() is not None:
                    raise SystemExit(f"{label}: server exited with {server.returncode}") from None
                time.sleep(0.5)
        answered = time.monotonic() - t0
        wait_idle(server.pid)
        ready = proc_status(server.pid)
        exercise(base)
        wait_idle(server.pid)
        after = proc_status(server.pid)
        print(
            f"{label:<34} answers after {answered:5.1f} s  RSS after start {ready['VmRSS']:4d} MB"
            f" (peak {ready['VmHWM']:4d} MB)  after requests {after['VmRSS']:4d} MB (peak {after['VmHWM']:4d} MB)",
            flush=True,
        )
    finally:
        server.terminate()
        server.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="kefu-rss-"))
    env = {**os.environ, "KEFU_DATA_DIR": str(data_dir)}
    env.pop("KEFU_MODEL_CACHE", None)  # the model cache lives in the data directory
    env.pop("KEFU_SMTP_LISTEN", None)
    try:
        one_start("first start (demo load, training)", env)
        one_start("restart (model cached)", env)
    finally:
        if args.data_dir is None and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
