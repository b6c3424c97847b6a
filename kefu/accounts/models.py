"""People and teams: customers, agents, specialists, supervisors and admins."""

from __future__ import annotations

import unicodedata
import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SPECIALIST = "specialist", _("Specialist (tier 2)")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = (Role.AGENT, Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN)
# Escalation tiers: an agent escalates to specialists, a specialist to supervisors.
ROLE_TIER = {Role.AGENT: 1, Role.SPECIALIST: 2, Role.SUPERVISOR: 3, Role.ADMIN: 3}


def canonical_email(value: str) -> str:
    """The one form of a sign-in address: stored, looked up and rate-limited under it.

    NFKC folds compatibility characters (full-width ``ｓ`` is ``s``, as Django's login form
    already does), casefold makes the match case-insensitive. Every place that stores, finds
    or counts an account by its address uses this, so no spelling of the address gets a
    fresh attempt counter or a second account.
    """
    return unicodedata.normalize("NFKC", value or "").strip().casefold()


class KefuUserManager(UserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra):  # type: ignore[override]
        email = canonical_email(email)
        extra.setdefault("username", email)
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=canonical_email(username or ""))

    def create_superuser(self, email: str, password: str | None = None, **extra):  # type: ignore[override]
        extra.update(is_staff=True, is_superuser=True, role=Role.ADMIN)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """Anyone who signs in. Email is the login; ``role`` decides what they may see."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone number"), max_length=32, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    # Staff 2FA (TOTP, kefu.identity.twofactor). The seed is sealed at rest (kefu.identity.sealed): a readable seed would let a database copy mint codes.
    totp_secret = models.CharField(max_length=255, blank=True)
    totp_enabled = models.BooleanField(default=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[KefuUserManager] = KefuUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["role"])]

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's session hash (of the password hash), plus the sealed 2FA seed once there is
        one: a reset or a new seed ends every session that passed the old second factor, as a
        new password does."""
        if not self.totp_secret:
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc]  # private, not in django-stubs
        return salted_hmac(
            "kefu.accounts.User.session_auth_hash",
            self.password + self.totp_secret,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def is_agent(self) -> bool:
        """Any support staff role (agent and above)."""
        return self.role in STAFF_ROLES

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def tier(self) -> int:
        return ROLE_TIER.get(Role(self.role), 0)


class Team(models.Model):
    """A queue owner such as 账户组 or 安全团队."""

    slug = models.SlugField(verbose_name=_("slug"), unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    members: models.ManyToManyField[User, TeamMembership] = models.ManyToManyField(
        User, related_name="teams", blank=True, through="TeamMembership"
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name_zh

    def localized_name(self, language: str) -> str:
        return self.name_en if language.startswith("en") else self.name_zh


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="uniq_team_member")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.team}"


class ApiToken(models.Model):
    """A bearer token for the REST API. Only a SHA-256 digest is stored."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(verbose_name=_("name"), max_length=100, blank=True)
    prefix = models.CharField(verbose_name=_("prefix"), max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(verbose_name=_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
