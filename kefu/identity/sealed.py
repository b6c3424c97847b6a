"""Secrets Kefu must be able to read back, sealed at rest: the staff TOTP seeds.

A TOTP seed cannot be hashed like a password (the server computes codes from it), so a copy of
the database alone would let its holder mint second factors for every agent. Sealed values
are Fernet tokens (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key derived with
HKDF from ``SECRET_KEY``; after a key rotation the keys in ``SECRET_KEY_FALLBACKS`` still open
older values. A value without the prefix is a seed stored before sealing existed and is read as
it is (the migration that introduced sealing sealed them all).
"""

from __future__ import annotations

import base64
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "sealed1:"
logger = logging.getLogger(__name__)


class SealedValueError(Exception):
    """A sealed value that none of the configured keys opens (the secret key changed)."""


def _derive(secret_key: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kefu.sealed", info=b"fernet").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


@lru_cache(maxsize=4)
def _keys(secret_keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_derive(key) for key in secret_keys])


def _current() -> MultiFernet:
    return _keys((settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def is_sealed(stored: str) -> bool:
    return bool(stored) and stored.startswith(PREFIX)


def seal(plain: str) -> str:
    """``plain`` sealed under the current key ("" stays "")."""
    if not plain:
        return ""
    return PREFIX + _current().encrypt(plain.encode()).decode("ascii")


def unseal(stored: str) -> str:
    """The plain value of ``stored``; raises :class:`SealedValueError` if no key opens it."""
    if not is_sealed(stored):
        return stored or ""
    try:
        return _current().decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        logger.error("a sealed value could not be opened: was SECRET_KEY changed without a fallback?")
        raise SealedValueError("no configured key opens this value") from exc
