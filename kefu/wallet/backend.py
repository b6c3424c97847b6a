"""The interface Kefu uses to read and change a customer's account in the wallet itself.

One implementation per backend (the demo in :mod:`kefu.wallet.demo`, the operator's own
against their systems); callers get the configured one from :func:`get_wallet_backend` and
never import an implementation directly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_BACKEND = "kefu.wallet.demo.DemoWalletBackend"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    # Locked by the wallet itself (too many wrong passwords, risk control); the customer can
    # usually unlock it through the app.
    LOCKED = "locked"
    # Frozen on request (stolen account): nothing moves until support unfreezes it.
    FROZEN = "frozen"


@dataclass(frozen=True)
class WalletCustomer:
    """A wallet account as the backend knows it."""

    uid: str
    email: str = ""
    phone: str = ""
    display_name: str = ""


@dataclass(frozen=True)
class AccountState:
    uid: str
    status: AccountStatus
    kyc_level: int = 0
    two_factor_enabled: bool = False
    frozen_at: datetime | None = None
    frozen_reason: str = ""

    @property
    def is_frozen(self) -> bool:
        return self.status == AccountStatus.FROZEN


@dataclass(frozen=True)
class FreezeResult:
    """The outcome of a freeze or unfreeze; ``changed`` is False when it was already so."""

    uid: str
    status: AccountStatus
    changed: bool
    at: datetime
    reference: str = ""


class WalletBackendError(Exception):
    """The backend could not answer or refused; the message is for logs, not customers."""


class UnknownAccount(WalletBackendError):
    """No wallet account has this uid."""


@runtime_checkable
class WalletBackend(Protocol):
    """What Kefu needs from the wallet. Implementations raise :class:`WalletBackendError`."""

    def find_customer(
        self, *, uid: str | None = None, email: str | None = None, phone: str | None = None
    ) -> WalletCustomer | None:
        """The account matching any one of the given identifiers, or None."""
        ...

    def account_state(self, uid: str) -> AccountState:
        """Status, KYC level and 2FA of an account; raises :class:`UnknownAccount`."""
        ...

    def freeze(self, uid: str, *, reason: str, requested_by: str) -> FreezeResult:
        """Block sign-ins, withdrawals and transfers at once. Idempotent."""
        ...

    def unfreeze(self, uid: str, *, reason: str, approved_by: str) -> FreezeResult:
        """Lift a freeze. Idempotent."""
        ...


# What a backend reads when it is built: a change of any of them builds a new one.
_BACKEND_SETTINGS = (
    "KEFU_WALLET_API_URL",
    "KEFU_WALLET_API_TOKEN",
    "KEFU_WALLET_API_TIMEOUT",
    "KEFU_WALLET_DEMO_FILE",
)
_backends: dict[tuple[str, ...], WalletBackend] = {}
_backends_lock = threading.Lock()


# Short names for KEFU_WALLET_BACKEND; anything else is a dotted path to a class.
BACKEND_ALIASES = {
    "demo": DEFAULT_BACKEND,
    "http": "kefu.wallet.http_backend.HttpWalletBackend",
}


def backend_path(name: str) -> str:
    """The dotted class path a ``KEFU_WALLET_BACKEND`` value names."""
    return BACKEND_ALIASES.get(name or "demo", name)


def get_wallet_backend() -> WalletBackend:
    """The backend named by ``settings.KEFU_WALLET_BACKEND`` (a dotted path to a class).

    One instance per process and configuration, so an HTTP backend keeps its connections to the
    operator's wallet API open between requests (a new TLS connection per call cost more than
    the call). Backends are therefore shared between threads and must be thread-safe.
    """
    # Read at call time, not import time, so settings overrides in tests apply.
    path = backend_path(settings.KEFU_WALLET_BACKEND)
    key = (
        path,
        str(getattr(settings, "DATA_DIR", "")),
        *(str(getattr(settings, name)) for name in _BACKEND_SETTINGS),
    )
    backend = _backends.get(key)
    if backend is not None:
        return backend
    backend = import_string(path)()
    if not isinstance(backend, WalletBackend):
        raise TypeError(f"{path} does not implement WalletBackend")
    with _backends_lock:
        if len(_backends) >= 16:  # configurations come and go in tests; keep it bounded
            _backends.clear()
        return _backends.setdefault(key, backend)
