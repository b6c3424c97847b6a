"""Saved views of the workspace list: a name and the list's query string, personal or shared.

A view stores only the list's own parameters (queue, team, status, tag, sort, the search and
its filters), never a cursor: it opens at the first page, and it grants nothing — whoever opens
a shared view sees only the tickets they may see.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.audit.actions import do_record
from kefu.tickets.models import SavedView

LIST_PARAMETERS = (
    "queue",
    "team",
    "status",
    "tag",
    "sort",
    "q",
    "category",
    "channel",
    "priority",
    "assignee",
    "created_from",
    "created_to",
)
MAX_VIEWS_PER_AGENT = 50


def clean_query(raw: str) -> str:
    """The list parameters of a query string, in a fixed order; everything else is dropped."""
    params = QueryDict(raw.lstrip("?"))
    kept = QueryDict(mutable=True)
    for key in LIST_PARAMETERS:
        value = (params.get(key) or "").strip()
        if value:
            kept[key] = value[:200]
    return kept.urlencode()


def do_save_view(*, owner: User, name: str, query: str, shared: bool) -> SavedView:
    """Save the list as ``name`` (one view of that name per agent: saving again replaces it)."""
    if not owner.is_agent:
        raise PermissionDenied
    name = " ".join(name.split())[:60]
    if not name:
        raise ValidationError(_("Give the view a name."))
    query = clean_query(query)[:500]
    with transaction.atomic():
        view = SavedView.objects.filter(owner=owner, name=name).first()
        if view is None:
            if SavedView.objects.filter(owner=owner).count() >= MAX_VIEWS_PER_AGENT:
                raise ValidationError(_("You have too many saved views; delete one first."))
            view = SavedView(owner=owner, name=name)
        view.query, view.shared = query, shared
        view.save()
        if shared:
            do_record(
                actor=owner,
                action="view.shared",
                target_type="saved_view",
                target_id=str(view.public_id),
                data={"name": name, "query": query},
            )
    return view


def do_delete_view(*, actor: User, public_id: str) -> None:
    """Delete a view: one's own, or any shared one for a supervisor."""
    view = SavedView.objects.filter(public_id=public_id).first() if _is_uuid(public_id) else None
    if view is None or not (view.owner_id == actor.pk or (view.shared and actor.is_supervisor)):
        raise PermissionDenied
    view.delete()


def views_for(user: User) -> list[SavedView]:
    """The agent's own views and every shared one, by name (one query)."""
    if not user.is_agent:
        return []
    return list(SavedView.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner"))


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
