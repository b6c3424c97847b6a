"""The client's IP address, the same way for every view, API, consumer and audit record.

``REMOTE_ADDR`` is the client unless it is one of our own reverse proxies
(``KEFU_TRUSTED_PROXIES``: comma-separated addresses or CIDR networks, default none). Behind
a trusted proxy, ``X-Forwarded-For`` is read from the right: each trusted proxy appends the
address it received the connection from, so the rightmost address that is *not* one of our
proxies is the real client. Everything left of it was written by the client itself and may
be forged, which is why the leftmost entry is never trusted. With no trusted proxies set the
header is ignored entirely: a client cannot pick its own address (and so dodge, or aim, the
per-IP rate limits).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[IPNetwork, ...]:
    networks = []
    for item in spec.split(","):
        item = item.strip()
        if item:
            networks.append(ipaddress.ip_network(item, strict=False))
    return tuple(networks)


def trusted_proxies() -> tuple[IPNetwork, ...]:
    spec = settings.KEFU_TRUSTED_PROXIES
    if not isinstance(spec, str):
        spec = ",".join(spec)
    return _networks(spec)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:443`` or ``::1``."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def resolve(remote_addr: str | None, forwarded_for: str | None) -> str | None:
    """The client address from the peer address and the ``X-Forwarded-For`` value(s)."""
    peer = _parse(remote_addr or "")
    if peer is None:
        return None
    networks = trusted_proxies()
    if not networks or not _trusted(peer, networks) or not forwarded_for:
        return str(peer)
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            break  # garbage a trusted proxy would not write: stop at the last hop we can vouch for
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for an HTTP request (``None`` when unknown, e.g. a bare test request)."""
    if hasattr(request, "_kefu_client_ip"):  # set below, possibly to None
        return cast("str | None", request._kefu_client_ip)
    ip = resolve(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))
    request._kefu_client_ip = ip  # type: ignore[attr-defined]
    return ip


def client_ip_from_scope(scope: dict[str, Any]) -> str | None:
    """The same for an ASGI scope (WebSocket consumers)."""
    client = scope.get("client") or (None, None)
    forwarded = b",".join(
        value for name, value in scope.get("headers") or () if name.lower() == b"x-forwarded-for"
    )
    return resolve(client[0] if client else None, forwarded.decode("latin-1") or None)
