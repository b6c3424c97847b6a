"""A demo wallet backend that keeps accounts in a small JSON file under ``DATA_DIR``.

It stands in for the operator's wallet so that ``kefu serve`` works with nothing else
installed: every email, phone or uid it is asked about exists (an active account is made up
on first sight), and freezes persist across restarts. Not for production.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from kefu.wallet.backend import AccountState, AccountStatus, FreezeResult, WalletCustomer

try:  # POSIX; elsewhere a single process is assumed
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

HISTORY_LIMIT = 50


def _now() -> datetime:
    return datetime.now(tz=UTC)


def demo_uid(contact: str) -> str:
    """A stable uid for a contact, so the same person maps to the same demo account."""
    return "demo-" + hashlib.sha256(contact.strip().lower().encode()).hexdigest()[:16]


class DemoWalletBackend:
    """Accounts as JSON: ``{"accounts": {uid: {...}}}``; writes are atomic and file-locked."""

    def __init__(self, path: Path | str | None = None) -> None:
        configured = path or settings.KEFU_WALLET_DEMO_FILE
        self.path = Path(configured) if configured else Path(settings.DATA_DIR) / "wallet-demo.json"

    # --- storage ---------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"accounts": {}}
        except json.JSONDecodeError:
            # A hand-edited or truncated demo file should not take support down.
            return {"accounts": {}}
        data.setdefault("accounts", {})
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".wallet-demo.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write under an exclusive lock, so concurrent workers do not lose updates."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = self._read()
                before = json.dumps(data, sort_keys=True)
                yield data
                # Reads outnumber changes by far; rewrite the file only when something changed.
                if json.dumps(data, sort_keys=True) != before:
                    self._write(data)
            finally:
                if fcntl is not None:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _ensure(data: dict[str, Any], uid: str, *, email: str = "", phone: str = "") -> dict[str, Any]:
        account = data["accounts"].setdefault(
            uid,
            {
                "email": email,
                "phone": phone,
                "display_name": "",
                "status": AccountStatus.ACTIVE.value,
                "kyc_level": 1,
                "two_factor_enabled": False,
                "frozen_at": None,
                "frozen_reason": "",
                "history": [],
            },
        )
        if email and not account.get("email"):
            account["email"] = email
        if phone and not account.get("phone"):
            account["phone"] = phone
        return account

    @staticmethod
    def _customer(uid: str, account: dict[str, Any]) -> WalletCustomer:
        return WalletCustomer(
            uid=uid,
            email=account.get("email", ""),
            phone=account.get("phone", ""),
            display_name=account.get("display_name", ""),
        )

    # --- WalletBackend ---------------------------------------------------------------------

    def find_customer(
        self, *, uid: str | None = None, email: str | None = None, phone: str | None = None
    ) -> WalletCustomer | None:
        email = (email or "").strip().lower()
        phone = (phone or "").strip()
        if not (uid or email or phone):
            return None
        with self._locked() as data:
            if uid:
                return self._customer(uid, self._ensure(data, uid, email=email, phone=phone))
            for known_uid, account in data["accounts"].items():
                if (email and account.get("email") == email) or (phone and account.get("phone") == phone):
                    return self._customer(known_uid, account)
            new_uid = demo_uid(email or phone)
            return self._customer(new_uid, self._ensure(data, new_uid, email=email, phone=phone))

    def account_state(self, uid: str) -> AccountState:
        with self._locked() as data:
            account = self._ensure(data, uid)
        frozen_at = account.get("frozen_at")
        return AccountState(
            uid=uid,
            status=AccountStatus(account.get("status", AccountStatus.ACTIVE)),
            kyc_level=int(account.get("kyc_level", 0)),
            two_factor_enabled=bool(account.get("two_factor_enabled", False)),
            frozen_at=datetime.fromisoformat(frozen_at) if frozen_at else None,
            frozen_reason=account.get("frozen_reason", ""),
        )

    def freeze(self, uid: str, *, reason: str, requested_by: str) -> FreezeResult:
        now = _now()
        with self._locked() as data:
            account = self._ensure(data, uid)
            changed = account["status"] != AccountStatus.FROZEN
            if changed:
                account.update(status=AccountStatus.FROZEN.value, frozen_at=now.isoformat())
                account["frozen_reason"] = reason[:500]
            self._log(account, "freeze", by=requested_by, reason=reason, at=now)
        return FreezeResult(
            uid=uid, status=AccountStatus.FROZEN, changed=changed, at=now, reference=f"demo-freeze-{uid}"
        )

    def unfreeze(self, uid: str, *, reason: str, approved_by: str) -> FreezeResult:
        now = _now()
        with self._locked() as data:
            account = self._ensure(data, uid)
            changed = account["status"] == AccountStatus.FROZEN
            if changed:
                account.update(status=AccountStatus.ACTIVE.value, frozen_at=None, frozen_reason="")
            self._log(account, "unfreeze", by=approved_by, reason=reason, at=now)
        return FreezeResult(
            uid=uid, status=AccountStatus.ACTIVE, changed=changed, at=now, reference=f"demo-unfreeze-{uid}"
        )

    @staticmethod
    def _log(account: dict[str, Any], event: str, *, by: str, reason: str, at: datetime) -> None:
        history = account.setdefault("history", [])
        history.append({"event": event, "by": by, "reason": reason[:500], "at": at.isoformat()})
        del history[:-HISTORY_LIMIT]
