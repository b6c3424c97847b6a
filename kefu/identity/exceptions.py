"""Why an identity action was refused. Messages are in the active language; codes never appear."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class IdentityError(Exception):
    """Base class: ``message`` is safe to show to the customer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ChannelUnavailable(IdentityError):
    """The customer has no such contact on file, or the channel is not configured."""


class SendThrottled(IdentityError):
    """Too many codes asked for; try again in ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryFailed(IdentityError):
    """The mail server or SMS provider did not take the message."""


class Locked(IdentityError):
    """Too many wrong codes: no checks until ``retry_after`` seconds have passed."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WrongCode(IdentityError):
    def __init__(self, message: str, *, attempts_left: int) -> None:
        super().__init__(message)
        self.attempts_left = attempts_left


class ChallengeInvalid(IdentityError):
    """Expired or already used code request."""


class ChallengeNotFound(ChallengeInvalid):
    """No such code request for this customer."""


class InvalidIdentityToken(IdentityError):
    """A wallet token that failed a check; ``reason`` is a short machine word for the audit log."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class VerificationRequired(PermissionDenied):
    """The action needs a (recent enough) identity verification first."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
