"""Checking the signed identity token (JWT) with which the wallet app vouches for a customer.

HS256 with a shared secret or ES256 with the wallet's public key, whichever is configured.
The algorithm is chosen from the configured key, never trusted from the token alone, so a
token cannot switch verification to a weaker scheme (the classic HS/ES confusion).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from kefu.identity import conf
from kefu.identity.exceptions import InvalidIdentityToken

MAX_TOKEN_LENGTH = 8192


@dataclass(frozen=True)
class IdentityClaims:
    sub: str
    email: str
    phone: str
    jti: str
    issuer: str
    expires_at: datetime
    issued_at: datetime | None


def _invalid(reason: str) -> InvalidIdentityToken:
    return InvalidIdentityToken(
        _("This sign-in link is invalid or has expired. Please open support from the wallet app again."),
        reason=reason,
    )


def _key_for(algorithm: str) -> str:
    if algorithm == "HS256" and (secret := conf.jwt_secret()):
        return secret
    if algorithm == "ES256" and (public_key := conf.jwt_public_key()):
        return public_key
    raise _invalid("algorithm")


def decode_identity_token(raw: str) -> IdentityClaims:
    """Verify signature, expiry, audience and issuer; return the claims or raise InvalidIdentityToken."""
    raw = (raw or "").strip()
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        raise _invalid("malformed")
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError as exc:
        raise _invalid("malformed") from exc
    algorithm = str(header.get("alg", ""))
    key = _key_for(algorithm)
    issuer = conf.jwt_issuer()
    required = ["exp", "sub", "aud", "jti"] + (["iss"] if issuer else [])
    try:
        claims = jwt.decode(
            raw,
            key,
            algorithms=[algorithm],
            audience=conf.jwt_audience(),
            issuer=issuer or None,
            leeway=conf.jwt_leeway(),
            options={"require": required},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _invalid("expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise _invalid("audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise _invalid("issuer") from exc
    except jwt.InvalidSignatureError as exc:
        raise _invalid("signature") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise _invalid(f"missing_{exc.claim}") from exc
    except jwt.PyJWTError as exc:
        raise _invalid("invalid") from exc
    except (ValueError, TypeError) as exc:  # an unusable configured key
        raise _invalid("key") from exc

    now = datetime.now(tz=UTC).timestamp()
    exp = float(claims["exp"])
    if exp - now > conf.jwt_max_lifetime() + conf.jwt_leeway():
        raise _invalid("lifetime")
    sub, jti = str(claims["sub"]).strip(), str(claims["jti"]).strip()
    email = str(claims.get("email") or "").strip().lower()
    if not sub or len(sub) > 128 or not jti or len(jti) > 256:
        raise _invalid("claims")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise _invalid("email") from exc
    iat = claims.get("iat")
    return IdentityClaims(
        sub=sub,
        email=email,
        phone=str(claims.get("phone") or "").strip(),
        jti=jti,
        issuer=str(claims.get("iss") or ""),
        expires_at=datetime.fromtimestamp(exp, tz=UTC),
        issued_at=datetime.fromtimestamp(float(iat), tz=UTC) if isinstance(iat, int | float) else None,
    )
