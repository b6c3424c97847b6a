"""``kefu serve`` as a first-time user starts it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

KEFU = str(Path(sys.executable).with_name("kefu"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_names_its_port_and_warms_the_search_index(tmp_path: Path) -> None:
    """``kefu serve --port P`` on an empty database prints sign-in and serving addresses with P,
    and builds the search index before anyone searches."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "DJANGO_"))}
    env["KEFU_DATA_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [KEFU, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: list[str] = []
    # Never hang the suite: a server that never says what is awaited is stopped (then fails).
    guard = threading.Timer(300, process.kill)
    guard.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            output = "".join(lines)
            if "Kefu is serving on" in output and "search index ready" in output:
                break
    finally:
        guard.cancel()
        process.terminate()
        process.wait(timeout=60)
    output = "".join(lines)
    sign_in = [line for line in lines if "Sign in at" in line]
    assert sign_in and f"http://127.0.0.1:{port}/accounts/login/" in sign_in[0], output
    assert ":8000" not in output
    serving = [line for line in lines if "Kefu is serving on" in line]
    assert serving and f"http://127.0.0.1:{port}/" in serving[0], output
    # The help-centre index is built at start, not by the first customer's search.
    ready = [line for line in lines if "search index ready" in line]
    assert ready and "(0 articles)" not in ready[0], output
