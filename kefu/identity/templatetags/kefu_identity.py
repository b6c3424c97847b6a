"""``{% identity_status customer %}``: the agent's view of a customer's identity and wallet account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import template
from django.urls import reverse

from kefu.identity import selectors

if TYPE_CHECKING:
    from kefu.accounts.models import User

register = template.Library()


@register.inclusion_tag("identity/_status_card.html", takes_context=True)
def identity_status(context: template.Context, customer: User | None) -> dict[str, Any]:
    """Verified (method, when) at once; the wallet account's state (and, for specialists, the
    unfreeze form) is fetched by the page from ``identity:account_card``, so a slow or
    unreachable wallet system never holds up the ticket view.

    Shows methods and times only; codes are never stored in a readable form to begin with.
    """
    request = context.get("request")
    viewer = getattr(request, "user", None)
    ticket = context.get("ticket")
    show_account = (
        customer is not None
        and ticket is not None
        and viewer is not None
        and getattr(viewer, "is_agent", False)
    )
    return {
        "status": selectors.verification_status(customer) if customer is not None else None,
        "account_url": reverse("identity:account_card", args=[ticket.case_number])
        if show_account and ticket is not None
        else "",
    }
