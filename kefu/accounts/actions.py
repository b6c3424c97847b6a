"""State changes for people, teams and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from kefu.accounts.models import ApiToken, Role, Team, TeamMembership, User, canonical_email
from kefu.rowlookup import RowLookup

TOKEN_PREFIX = "kefu_"
# Every API request looks its token up: the token with its user in one SELECT compiled once
# (kefu.rowlookup), read from the database each time so that a revoked token or a deactivated
# or changed user counts at once.
_TOKEN_WITH_USER = RowLookup(ApiToken, "digest", related="user")


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def do_create_api_token(*, user: User, name: str = "") -> str:
    """Create a bearer token and return it; only its digest is kept, so show it once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=raw[:12], digest=token_digest(raw))
    return raw


def authenticate_api_token(raw: str) -> User | None:
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = _TOKEN_WITH_USER.get(token_digest(raw))
    if token is None or not token.user.is_active:
        return None
    # Touch at most once a minute so that reads do not write on every request.
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def do_ensure_user(
    *, email: str, role: str = Role.CUSTOMER, password: str | None = None, display_name: str = ""
) -> User:
    """Fetch a user by email or create one with the given role (idempotent)."""
    email = canonical_email(email)
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, password, role=role, display_name=display_name)
    if role == Role.ADMIN and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def do_add_team_member(*, team: Team, user: User) -> None:
    TeamMembership.objects.get_or_create(team=team, user=user)
