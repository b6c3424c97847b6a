"""A local Esplora server answering from recorded responses (``fixtures/esplora/``).

The fixtures follow Esplora's schema exactly (``txid``, ``vin[].prevout``, ``vout[]`` with
``scriptpubkey_address`` and ``value`` in satoshis, ``status`` with ``confirmed``,
``block_height``, ``block_hash``, ``block_time``); unknown txids answer 404 with Esplora's
plain-text body.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "esplora"
CONFIRMED_TXID = "9f2c45a12db0144909b5db269415f730ca5aa4b4f2b5d5c83d3ac4f3e5a1c6d2"
MEMPOOL_TXID = "c3d9b8a7f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918f7e6d5c4b3"
CUSTOMER_ADDRESS = "bc1qew9sc3xp5hl2e8uljhengv077s8pha8aznh0jc"
SENDER_ADDRESS = "bc1qpxyq5arn5v44krglax0c5v4h8n93hhd5t9exj6"
STRANGER_ADDRESS = "bc1qxw27zwk5sjwhuvr0ty4rgagvjkju5ued500sqq"
BLOCK_HEIGHT = 842120


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class EsploraServer:
    url: str = ""
    tip: int = BLOCK_HEIGHT
    fail_next: int = 0
    transactions: dict[str, Any] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def answer(self, path: str) -> tuple[int, str, str]:
        self.requests.append(path)
        if self.fail_next > 0:
            self.fail_next -= 1
            return 502, "text/plain", "Bad Gateway"
        parts = path.strip("/").split("/")
        if parts == ["blocks", "tip", "height"]:
            return 200, "text/plain", str(self.tip)
        if len(parts) >= 2 and parts[0] == "tx":
            tx = self.transactions.get(parts[1])
            if tx is None:
                return 404, "text/plain", "Transaction not found"
            if len(parts) == 3 and parts[2] == "status":
                return 200, "application/json", json.dumps(tx["status"])
            if len(parts) == 2:
                return 200, "application/json", json.dumps(tx)
        return 404, "text/plain", "Not Found"


@contextmanager
def serve_esplora() -> Iterator[EsploraServer]:
    """Esplora's REST API (the parts Kefu uses) on 127.0.0.1, with both recorded transactions."""
    state = EsploraServer(
        transactions={
            CONFIRMED_TXID: fixture("tx_confirmed.json"),
            MEMPOOL_TXID: fixture("tx_mempool.json"),
        }
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            status, content_type, body = state.answer(self.path.split("?")[0].removeprefix("/api"))
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
