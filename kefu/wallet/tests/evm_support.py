"""eth-tester for the wallet tests: a chain in-process, the same chain over HTTP JSON-RPC, and a
minimal ERC-20 token assembled by hand.

No Solidity compiler is available offline, so the token is written in EVM assembly and
assembled by :func:`assemble` (a dozen opcodes and labels). It is just enough of an ERC-20
for the chain client: ``transfer(address,uint256)`` emits the standard
``Transfer(address indexed from, address indexed to, uint256 value)`` log and returns true,
``decimals()`` returns 6, and a transfer of 2**128 or more reverts (standing in for "amount
exceeds balance") so tests can produce a reverted token transfer. It keeps no balances:
the chain client only reads logs, never balances.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TOKEN_DECIMALS = 6

OPCODES = {
    "STOP": 0x00, "ISZERO": 0x15, "EQ": 0x14, "SHR": 0x1C, "CALLDATALOAD": 0x35, "CALLER": 0x33,
    "CODECOPY": 0x39, "MSTORE": 0x52, "JUMPI": 0x57, "JUMPDEST": 0x5B, "DUP1": 0x80,
    "LOG3": 0xA3, "RETURN": 0xF3, "REVERT": 0xFD,
}  # fmt: skip

# (opcode) or ("PUSHn", value) or ("PUSHLABEL", name) or ("LABEL", name)
TOKEN_RUNTIME = [
    ("PUSH1", 0x00), "CALLDATALOAD", ("PUSH1", 0xE0), "SHR",          # selector
    "DUP1", ("PUSH4", 0x313CE567), "EQ", ("PUSHLABEL", "decimals"), "JUMPI",
    "DUP1", ("PUSH4", 0xA9059CBB), "EQ", ("PUSHLABEL", "transfer"), "JUMPI",
    ("LABEL", "fail"), ("PUSH1", 0x00), "DUP1", "REVERT",
    ("LABEL", "decimals"), ("PUSH1", TOKEN_DECIMALS), ("PUSH1", 0x00), "MSTORE",
    ("PUSH1", 0x20), ("PUSH1", 0x00), "RETURN",
    ("LABEL", "transfer"),
    ("PUSH1", 0x24), "CALLDATALOAD",                                   # value
    "DUP1", ("PUSH1", 0x80), "SHR", ("PUSHLABEL", "fail"), "JUMPI",    # value >= 2**128: revert
    ("PUSH1", 0x00), "MSTORE",                                         # memory[0:32] = value
    ("PUSH1", 0x04), "CALLDATALOAD",                                   # topic 2: to
    "CALLER",                                                          # topic 1: from
    ("PUSH32", int(TRANSFER_TOPIC, 16)),                               # topic 0
    ("PUSH1", 0x20), ("PUSH1", 0x00), "LOG3",
    ("PUSH1", 0x01), ("PUSH1", 0x00), "MSTORE", ("PUSH1", 0x20), ("PUSH1", 0x00), "RETURN",
]  # fmt: skip


def assemble(program: list[Any]) -> bytes:
    """Bytecode for ``program``; labels become JUMPDESTs, PUSHLABEL a PUSH1 of their offset."""

    def size(item: Any) -> int:
        if isinstance(item, str):
            return 1
        op = item[0]
        if op == "LABEL":
            return 1
        if op == "PUSHLABEL":
            return 2
        return 1 + int(op[4:])

    labels, offset = {}, 0
    for item in program:
        if isinstance(item, tuple) and item[0] == "LABEL":
            labels[item[1]] = offset
        offset += size(item)
    out = bytearray()
    for item in program:
        if isinstance(item, str):
            out.append(OPCODES[item])
        elif item[0] == "LABEL":
            out.append(OPCODES["JUMPDEST"])
        elif item[0] == "PUSHLABEL":
            out += bytes((0x60, labels[item[1]]))
        else:
            width = int(item[0][4:])
            out.append(0x5F + width)
            out += int(item[1]).to_bytes(width, "big")
    return bytes(out)


def token_init_code() -> bytes:
    """Deployment code: copy the runtime (which follows these 12 bytes) to memory and return it."""
    runtime = assemble(TOKEN_RUNTIME)
    n = len(runtime)
    assert n < 256
    return bytes([0x60, n, 0x60, 12, 0x60, 0, 0x39, 0x60, n, 0x60, 0, 0xF3]) + runtime


def transfer_calldata(to: str, raw_amount: int) -> str:
    return "0xa9059cbb" + to.lower().removeprefix("0x").rjust(64, "0") + format(raw_amount, "064x")


@dataclass
class Chain:
    """An eth-tester chain with ten funded accounts (private keys 1..10)."""

    tester: Any
    w3: Any
    accounts: list[str] = field(default_factory=list)

    def send_eth(self, sender: str, to: str, wei: int, **extra: Any) -> str:
        return self.w3.eth.send_transaction({"from": sender, "to": to, "value": wei, **extra}).to_0x_hex()

    def deploy_token(self, sender: str | None = None) -> str:
        tx = self.w3.eth.send_transaction(
            {"from": sender or self.accounts[0], "data": "0x" + token_init_code().hex(), "gas": 200_000}
        )
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt["status"] == 1 and receipt["contractAddress"]
        return receipt["contractAddress"]

    def send_token(self, token: str, sender: str, to: str, raw_amount: int) -> str:
        # Gas is given so eth-tester does not estimate it (estimating a reverting call raises).
        return self.w3.eth.send_transaction(
            {"from": sender, "to": token, "data": transfer_calldata(to, raw_amount), "gas": 100_000}
        ).to_0x_hex()

    def mine(self, blocks: int = 1) -> None:
        self.tester.mine_blocks(blocks)

    def auto_mine(self, on: bool) -> None:
        if on:
            self.tester.enable_auto_mine_transactions()
        else:
            self.tester.disable_auto_mine_transactions()


def new_chain() -> Chain:
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider, Web3

    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    return Chain(tester=tester, w3=w3, accounts=list(w3.eth.accounts))


# --- eth-tester behind a real JSON-RPC HTTP endpoint -------------------------------------------


def _to_rpc(value: Any) -> Any:
    """web3's Python values back into JSON-RPC wire format (quantities and bytes as hex)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        out = {}
        for key, item in value.items():
            if key == "y_parity":
                key = "yParity"
            elif key == "state_root":
                continue
            out[key] = _to_rpc(item)
        return out
    if isinstance(value, list | tuple):
        return [_to_rpc(v) for v in value]
    return value


@dataclass
class RpcServer:
    """A JSON-RPC server over a :class:`Chain` with switches for failure modes."""

    chain: Chain
    url: str = ""
    fail_next: int = 0  # answer this many requests with HTTP 500 first
    fail_status: int = 500
    hang: threading.Event | None = None  # while set, requests wait (until released) before answering
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        with self.lock:
            self.requests.append(payload.get("method", ""))
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status, None
        method, params = payload["method"], payload.get("params") or []
        try:
            result = self.chain.w3.manager.request_blocking(method, params)
        except Exception as exc:  # the node's error, as a JSON-RPC error object
            return 200, {
                "jsonrpc": "2.0",
                "id": payload.get("id"),
                "error": {"code": -32000, "message": str(exc)},
            }
        return 200, {"jsonrpc": "2.0", "id": payload.get("id"), "result": _to_rpc(result)}


@contextmanager
def serve_rpc(chain: Chain) -> Iterator[RpcServer]:
    """Serve ``chain`` over HTTP on 127.0.0.1 in a thread; yields the server with its URL."""
    state = RpcServer(chain=chain)
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if state.hang is not None and state.hang.is_set():
                release.wait(10)
            status, answer = state.handle(json.loads(body))
            data = json.dumps(answer).encode() if answer is not None else b"Internal Server Error"
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if answer is not None else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a hanging node (the timeout tests): as a real node sees it

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield state
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def policy(**overrides: Any) -> Any:
    """A retry policy that never sleeps, for fast tests; ``sleeps`` records the waits asked for."""
    from kefu.wallet.chain.base import RetryPolicy

    return RetryPolicy(**{"attempts": 3, "backoff": 0.01, "timeout": 2.0, "sleep": _no_sleep, **overrides})


def _no_sleep(seconds: float) -> None:
    return None


SleepRecorder = Callable[[float], None]
