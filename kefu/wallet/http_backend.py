"""The wallet backend over HTTP: the operator's REST API as ``openapi/wallet-backend.yaml`` describes.

Implements both :class:`kefu.wallet.backend.WalletBackend` (customers, account state,
freeze/unfreeze) and :class:`kefu.wallet.records.WalletRecords` (deposit addresses, deposits,
withdrawals). Configure with::

    KEFU_WALLET_BACKEND=kefu.wallet.http_backend.HttpWalletBackend
    KEFU_WALLET_API_URL=https://wallet-api.example/kefu/v1
    KEFU_WALLET_API_TOKEN=...            # sent as "Authorization: Bearer ..."
    KEFU_WALLET_API_TIMEOUT=5            # seconds per request (optional)

Every failure — unreachable, timeout, 5xx after one retry, 401, a body that does not fit the
document — raises :class:`~kefu.wallet.backend.WalletBackendError` with a message for logs.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from kefu.wallet.backend import (
    AccountState,
    AccountStatus,
    FreezeResult,
    UnknownAccount,
    WalletBackendError,
    WalletCustomer,
)
from kefu.wallet.records import (
    DepositAddress,
    DepositRecord,
    DepositState,
    WithdrawalRecord,
    WithdrawalState,
)

if TYPE_CHECKING:
    import httpx


OPENAPI_DOCUMENT = Path(__file__).resolve().parent / "openapi" / "wallet-backend.yaml"
_ATTEMPTS = 2  # one retry: enough for a blip, short enough for a chat reply


def _setting(name: str) -> str:
    value = getattr(settings, name)
    return "" if value is None else str(value)


class HttpWalletBackend:
    """A client of the wallet-backend API (see ``OPENAPI_DOCUMENT``)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or _setting("KEFU_WALLET_API_URL")).rstrip("/")
        if not self.base_url:
            raise WalletBackendError("KEFU_WALLET_API_URL is not set")
        self.token = token if token is not None else _setting("KEFU_WALLET_API_TOKEN")
        self.timeout = timeout if timeout is not None else float(_setting("KEFU_WALLET_API_TIMEOUT"))
        self._transport = transport
        self._http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        # One connection pool per backend object: building a client costs more than a request.
        if self._http is None:
            self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout, transport=self._transport)
        return self._http

    def close(self) -> None:
        """Close the connection pool (also done when the object is garbage-collected)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    # --- transport -------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> dict[str, Any] | None:
        """The JSON body of a 2xx answer, or None for 404. Retries once on 5xx or transport errors."""
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        params = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        last = ""
        for attempt in range(_ATTEMPTS):
            try:
                response = self._client().request(method, path, params=params, json=json, headers=headers)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 404:
                    return None
                if response.status_code < 400:
                    try:
                        body = response.json()
                    except ValueError as exc:
                        raise WalletBackendError(f"{method} {path}: the answer is not JSON") from exc
                    if not isinstance(body, dict):
                        raise WalletBackendError(f"{method} {path}: expected a JSON object")
                    return body
                last = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code < 500:
                    break
            if attempt + 1 < _ATTEMPTS:
                time.sleep(0.2)
        raise WalletBackendError(f"{method} {path} failed: {last}")

    # --- WalletBackend ---------------------------------------------------------------------

    def find_customer(
        self, *, uid: str | None = None, email: str | None = None, phone: str | None = None
    ) -> WalletCustomer | None:
        if not (uid or email or phone):
            return None
        body = self._request("GET", "/customers/lookup", params={"uid": uid, "email": email, "phone": phone})
        if body is None:
            return None
        return WalletCustomer(
            uid=_text(body, "uid", required=True),
            email=_text(body, "email"),
            phone=_text(body, "phone"),
            display_name=_text(body, "display_name"),
        )

    def account_state(self, uid: str) -> AccountState:
        body = self._request("GET", f"/customers/{_seg(uid)}/account")
        if body is None:
            raise UnknownAccount(uid)
        return AccountState(
            uid=_text(body, "uid", required=True),
            status=_status(body),
            kyc_level=int(body.get("kyc_level") or 0),
            two_factor_enabled=bool(body.get("two_factor_enabled")),
            frozen_at=_time(body.get("frozen_at")),
            frozen_reason=_text(body, "frozen_reason"),
        )

    def freeze(self, uid: str, *, reason: str, requested_by: str) -> FreezeResult:
        body = self._request(
            "POST", f"/customers/{_seg(uid)}/freeze", json={"reason": reason, "requested_by": requested_by}
        )
        return self._freeze_result(uid, body)

    def unfreeze(self, uid: str, *, reason: str, approved_by: str) -> FreezeResult:
        body = self._request(
            "POST", f"/customers/{_seg(uid)}/unfreeze", json={"reason": reason, "approved_by": approved_by}
        )
        return self._freeze_result(uid, body)

    @staticmethod
    def _freeze_result(uid: str, body: dict[str, Any] | None) -> FreezeResult:
        if body is None:
            raise UnknownAccount(uid)
        at = _time(body.get("at"))
        if at is None:
            raise WalletBackendError("freeze result without 'at'")
        return FreezeResult(
            uid=_text(body, "uid", required=True),
            status=_status(body),
            changed=bool(body.get("changed")),
            at=at,
            reference=_text(body, "reference"),
        )

    # --- WalletRecords ---------------------------------------------------------------------

    def deposit_addresses(self, uid: str) -> list[DepositAddress]:
        return [
            DepositAddress(
                coin=_text(item, "coin", required=True),
                network=_text(item, "network", required=True),
                address=_text(item, "address", required=True),
                memo=_text(item, "memo"),
            )
            for item in self._items(f"/customers/{_seg(uid)}/deposit-addresses")
        ]

    def deposits(self, uid: str, *, tx_hash: str | None = None) -> list[DepositRecord]:
        out = []
        for item in self._items(f"/customers/{_seg(uid)}/deposits", tx_hash=tx_hash):
            try:
                state = DepositState(item.get("status") or "")
            except ValueError as exc:
                raise WalletBackendError(f"unknown deposit status {item.get('status')!r}") from exc
            out.append(
                DepositRecord(
                    id=_text(item, "id", required=True),
                    coin=_text(item, "coin", required=True),
                    network=_text(item, "network", required=True),
                    amount=_decimal(item.get("amount")),
                    address=_text(item, "address"),
                    memo=_text(item, "memo"),
                    tx_hash=_text(item, "tx_hash"),
                    status=state,
                    created_at=_required_time(item.get("created_at")),
                    credited_at=_time(item.get("credited_at")),
                )
            )
        return out

    def withdrawals(self, uid: str, *, tx_hash: str | None = None) -> list[WithdrawalRecord]:
        out = []
        for item in self._items(f"/customers/{_seg(uid)}/withdrawals", tx_hash=tx_hash):
            try:
                state = WithdrawalState(item.get("status") or "")
            except ValueError as exc:
                raise WalletBackendError(f"unknown withdrawal status {item.get('status')!r}") from exc
            fee = item.get("fee")
            out.append(
                WithdrawalRecord(
                    id=_text(item, "id", required=True),
                    coin=_text(item, "coin", required=True),
                    network=_text(item, "network", required=True),
                    amount=_decimal(item.get("amount")),
                    fee=_decimal(fee) if fee is not None else None,
                    address=_text(item, "address"),
                    memo=_text(item, "memo"),
                    tx_hash=_text(item, "tx_hash"),
                    status=state,
                    created_at=_required_time(item.get("created_at")),
                    updated_at=_time(item.get("updated_at")),
                )
            )
        return out

    def _items(self, path: str, *, tx_hash: str | None = None) -> list[dict[str, Any]]:
        body = self._request("GET", path, params={"tx_hash": tx_hash} if tx_hash else None)
        if body is None:  # unknown customer: no records
            return []
        items = body.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise WalletBackendError(f"GET {path}: 'items' must be a list of objects")
        return items


# --- parsing helpers ---------------------------------------------------------------------------


def _seg(uid: str) -> str:
    """``uid`` as one URL path segment."""
    from urllib.parse import quote

    if not uid:
        raise UnknownAccount(uid)
    return quote(uid, safe="")


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise WalletBackendError(f"missing field {key!r}")
        return ""
    if not isinstance(value, str):
        raise WalletBackendError(f"field {key!r} must be a string")
    return value


def _status(body: dict[str, Any]) -> AccountStatus:
    try:
        return AccountStatus(body.get("status") or "")
    except ValueError as exc:
        raise WalletBackendError(f"unknown account status {body.get('status')!r}") from exc


def _decimal(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise WalletBackendError("amounts must be decimal strings")
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise WalletBackendError(f"bad amount {value!r}") from exc


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise WalletBackendError(f"bad timestamp {value!r}") from exc
    if parsed.tzinfo is None:
        raise WalletBackendError(f"timestamp without a zone: {value!r}")
    return parsed


def _required_time(value: Any) -> datetime:
    parsed = _time(value)
    if parsed is None:
        raise WalletBackendError("missing timestamp")
    return parsed
