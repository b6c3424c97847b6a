"""Request types for views that only run for a signed-in user.

Django types ``request.user`` as ``User | AnonymousUser``. Behind ``login_required`` (or a
django-ninja router with an ``auth=`` that refuses anonymous requests) the user is always a
real :class:`~kefu.accounts.models.User`; annotating the view's request as
:class:`AuthedRequest` says so once, instead of narrowing ``request.user`` in every view.
This is the pattern django-stubs documents for authenticated views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from kefu.accounts.models import User


class AuthedRequest(HttpRequest):
    """An ``HttpRequest`` whose ``user`` is signed in. Used only in annotations."""

    user: User  # narrows HttpRequest.user (User | AnonymousUser)


def user_or_none(request: HttpRequest) -> User | None:
    """The signed-in user of ``request``, or None for an anonymous one (typed, no ``Any``)."""
    from kefu.accounts.models import User

    return request.user if isinstance(request.user, User) else None
