"""Where a webhook may go, and the one HTTP request that takes it there.

A webhook URL is chosen by an admin but fetched by the server, so it could be aimed at the
server's own network (a cloud metadata address, a database on localhost): server-side request
forgery. Every address a host resolves to must be globally routable, checked twice:

- on save, so an admin learns at once that a URL is refused;
- at send time, after resolving again (DNS may have changed since, or answer differently per
  query: "DNS rebinding"), and the connection is made to the address just checked (pinned),
  never to a second lookup's. Redirects are not followed (a 3xx is a failed attempt), since a
  redirect could point anywhere.

``KEFU_WEBHOOKS_ALLOW_PRIVATE=1`` lifts the address rule, for a receiver on a developer's laptop.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """A URL that may not be used (its text says why, translated)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Response:
    status: int
    elapsed_ms: int
    body: str


def allow_private() -> bool:
    return bool(settings.KEFU_WEBHOOKS_ALLOW_PRIVATE)


def parse(url: str) -> Target:
    """The parts of an http(s) URL, or :class:`TargetRefused`."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TargetRefused(_("Enter a valid http or https URL.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(_("Enter a valid http or https URL."))
    if parts.username or parts.password:
        raise TargetRefused(_("The URL must not contain a user name or password."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or (443 if parts.scheme == "https" else 80),
        path=path,
    )


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, multicast, reserved,
    shared (CGNAT), documentation or unspecified; an IPv4-mapped IPv6 address is judged as
    the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast and not address.is_reserved


def resolve(target: Target) -> list[IPAddress]:
    """Every address ``target.host`` resolves to now; refused if any is not public (unless
    private targets are allowed). A mix is refused whole: a resolver that answers one public
    and one private address would otherwise choose the target for us."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise TargetRefused(_("The host name could not be resolved.")) from None
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
    if not addresses:
        raise TargetRefused(_("The host name could not be resolved."))
    if not allow_private() and not all(is_public(address) for address in addresses):
        raise TargetRefused(
            _("Private, loopback, link-local and reserved addresses cannot receive webhooks.")
        )
    return addresses


def check(url: str) -> Target:
    """Parse and resolve ``url`` now (on save); raises :class:`TargetRefused`."""
    target = parse(url)
    resolve(target)
    return target


def _connect(addresses: list[IPAddress], port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers (as
    ``socket.create_connection`` tries a name's addresses), never to a fresh lookup's."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((str(address), port), timeout)
        except OSError as exc:
            error = exc
    raise error or OSError("no address to connect to")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, addresses: list[IPAddress], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address, with the certificate checked for the URL's host name."""

    def __init__(self, host: str, port: int, *, addresses: list[IPAddress], timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = addresses

    def connect(self) -> None:
        sock = _connect(self._addresses, self.port, self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> Response:
    """POST ``body`` to ``url`` over a connection pinned to an address checked just now.

    Raises :class:`TargetRefused` for a refused target and ``OSError``/``http.client``
    errors for a network failure; any HTTP status is returned (the caller judges it).
    """
    target = parse(url)
    addresses = resolve(target)
    timeout = float(settings.KEFU_WEBHOOKS_TIMEOUT)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target.host, target.port, addresses=addresses, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        # Enough of the answer for the log; a receiver's page is not stored whole.
        text = response.read(2048).decode("utf-8", "replace")
        return Response(
            status=response.status, elapsed_ms=int((time.monotonic() - started) * 1000), body=text
        )
    finally:
        connection.close()
