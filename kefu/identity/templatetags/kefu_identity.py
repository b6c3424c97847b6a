"""``{% identity_status customer %}``: the agent's view of a customer's identity and wallet account."""

from __future__ import annotations

from typing import Any

from django import template

from kefu.identity import selectors
from kefu.wallet.backend import WalletBackendError, get_wallet_backend

register = template.Library()


@register.inclusion_tag("identity/_status_card.html", takes_context=True)
def identity_status(context: template.Context, customer: Any) -> dict[str, Any]:
    """Verified (method, when), the wallet account state, and for specialists the unfreeze form.

    Shows methods and times only; codes are never stored in a readable form to begin with.
    """
    request = context.get("request")
    viewer = getattr(request, "user", None)
    ticket = context.get("ticket")
    out: dict[str, Any] = {
        "status": selectors.verification_status(customer) if customer is not None else None,
        "account_state": None,
        "wallet_error": False,
        "ticket": ticket,
        "csrf_token": context.get("csrf_token"),
        "can_unfreeze": False,
    }
    if customer is None or viewer is None or not getattr(viewer, "is_agent", False):
        return out
    try:
        backend = get_wallet_backend()
        uid = selectors.wallet_uid_for(customer, backend)
        out["account_state"] = backend.account_state(uid) if uid else None
    except WalletBackendError:
        out["wallet_error"] = True
    state = out["account_state"]
    out["can_unfreeze"] = bool(
        ticket is not None and viewer.tier >= 2 and state is not None and state.is_frozen
    )
    return out
