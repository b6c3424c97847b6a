"""``kefu serve`` as a first-time user starts it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

KEFU = str(Path(sys.executable).with_name("kefu"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_start_up_banner_names_the_port_it_serves_on(tmp_path: Path) -> None:
    """``kefu serve --port P`` on an empty database prints sign-in and serving addresses with P."""
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
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Kefu is serving on" in line:
                break
    finally:
        process.terminate()
        process.wait(timeout=60)
    output = "".join(lines)
    sign_in = [line for line in lines if "Sign in at" in line]
    assert sign_in and f"http://127.0.0.1:{port}/accounts/login/" in sign_in[0], output
    assert ":8000" not in output
    assert f"http://127.0.0.1:{port}/" in lines[-1], output
