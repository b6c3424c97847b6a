"""A local server implementing ``openapi/wallet-backend.yaml``, checking itself against it.

It routes by the document's paths, demands the bearer token, validates each request body
against the operation's ``requestBody`` schema and each response against the documented
schema for its status code (JSON Schema 2020-12, which OpenAPI 3.1 schemas are). Any
mismatch is recorded in ``violations`` — a test passes only when that list stays empty.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from kefu.wallet.http_backend import OPENAPI_DOCUMENT

TOKEN = "test-token-0123456789"
DOC_URI = "urn:kefu:wallet-backend"


def load_document() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI_DOCUMENT.read_text())


def validator_for(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for ``schema`` whose ``#/components/...`` refs resolve inside ``document``."""
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, default_specification=_draft())
    )
    return Draft202012Validator(_rebase(schema), registry=registry, format_checker=FormatChecker())


def _draft() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


def _rebase(schema: Any) -> Any:
    """Turn local refs (``#/components/...``) into refs into the document resource."""
    if isinstance(schema, dict):
        return {
            k: (DOC_URI + v if k == "$ref" and v.startswith("#") else _rebase(v)) for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@dataclass
class WalletApi:
    """In-memory wallet data behind the documented API."""

    document: dict[str, Any]
    url: str = ""
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deposits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    withdrawals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_next: int = 0
    override_body: Any = None  # answer this body (once) instead, to test the client's checks

    def routes(self) -> list[tuple[str, re.Pattern[str], str]]:
        out = []
        for template, item in self.document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")
            for method in ("get", "post"):
                if method in item:
                    out.append((method.upper(), pattern, template))
        return out

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        path = parts.path.removeprefix("/kefu/v1")
        self.requests.append((method, path))
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503, {"error": {"code": "unavailable", "message": "try later"}}
        found = next(
            (
                (t, m)
                for route_method, pattern, t in self.routes()
                if route_method == method and (m := pattern.match(path))
            ),
            None,
        )
        if found is None:
            self.violations.append(f"{method} {path} is not in the document")
            return 404, {"error": {"code": "no_route", "message": path}}
        template, match = found
        operation = self.document["paths"][template][method.lower()]
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(operation, 401, {"error": {"code": "unauthorized", "message": "bad token"}})
        payload = None
        if "requestBody" in operation:
            payload = json.loads(body or b"null")
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            for error in validator_for(self.document, schema).iter_errors(payload):
                self.violations.append(f"request {method} {path}: {error.message}")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        status, answer = self._dispatch(operation["operationId"], match.groupdict(), query, payload)
        if self.override_body is not None:
            answer, self.override_body = self.override_body, None
            return status, answer
        return self._answer(operation, status, answer)

    def _answer(self, operation: dict[str, Any], status: int, answer: Any) -> tuple[int, Any]:
        documented = operation["responses"].get(str(status))
        if documented is None:
            self.violations.append(f"{operation['operationId']}: status {status} is not documented")
            return status, answer
        schema = _resolve(self.document, documented)["content"]["application/json"]["schema"]
        for error in validator_for(self.document, schema).iter_errors(answer):
            self.violations.append(f"response {operation['operationId']} {status}: {error.message}")
        return status, answer

    def _dispatch(
        self, op: str, args: dict[str, str], query: dict[str, str], payload: Any
    ) -> tuple[int, Any]:
        not_found = (404, {"error": {"code": "not_found", "message": "no such customer"}})
        if op == "findCustomer":
            for uid, customer in self.customers.items():
                if (
                    query.get("uid") == uid
                    or (query.get("email") and query["email"].lower() == customer.get("email"))
                    or (query.get("phone") and query["phone"] == customer.get("phone"))
                ):
                    return 200, {"uid": uid, **customer}
            return not_found
        uid = args["uid"]
        if uid not in self.customers:
            return not_found
        if op == "getAccountState":
            return 200, {"uid": uid, **self.accounts[uid]}
        if op in ("freezeAccount", "unfreezeAccount"):
            account = self.accounts[uid]
            target = "frozen" if op == "freezeAccount" else "active"
            changed = account["status"] != target
            account["status"] = target
            account["frozen_at"] = _now() if target == "frozen" else None
            account["frozen_reason"] = payload.get("reason", "") if target == "frozen" else ""
            return 200, {"uid": uid, "status": target, "changed": changed, "at": _now(), "reference": "chg-1"}
        if op == "listDepositAddresses":
            return 200, {"items": self.addresses.get(uid, [])}
        rows = self.deposits.get(uid, []) if op == "listDeposits" else self.withdrawals.get(uid, [])
        if query.get("tx_hash"):
            wanted = query["tx_hash"].lower().removeprefix("0x")
            rows = [r for r in rows if r["tx_hash"].lower().removeprefix("0x") == wanted]
        return 200, {"items": rows[: int(query.get("limit", 50))]}


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@contextmanager
def serve_wallet_api() -> Iterator[WalletApi]:
    state = WalletApi(document=load_document())

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, answer = state.handle(method, self.path, self.headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/kefu/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
