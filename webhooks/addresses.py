"""Where a webhook may be sent: ``https://`` URLs whose host resolves only to public addresses.

A webhook URL is chosen by a client, and the relay sends requests to it from inside the
operator's network: without a check, ``https://10.0.0.5/`` or a name resolving to ``127.0.0.1``
would make the ledger a proxy into that network (server-side request forgery). So:

- the URL is ``https://``, with a host, without user info; the port defaults to 443;
- the host is resolved (``socket.getaddrinfo``) and *every* address it resolves to must be
  public: none loopback, private, link-local, multicast, unspecified, reserved, or otherwise
  not globally reachable (``ipaddress``'s ``is_global``); an IPv4-mapped IPv6 address
  (``::ffff:10.0.0.1``) is judged as the IPv4 address it maps;
- unless the host, or ``host:port``, is listed in ``LEDGER_WEBHOOK_ALLOWED_HOSTS`` (tests,
  private networks): then any address it resolves to is allowed.

The check runs when an endpoint is created and again before every attempt, and the attempt
connects to an address that check returned (:class:`Target`), never resolving the name again:
a name that resolved to a public address at the check cannot point the connection elsewhere
(DNS rebinding). TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_LENGTH = 2048


class AddressRefused(Exception):
    """The URL may not receive webhooks; the message says why, for the client or the delivery's ``last_error``."""


@dataclass(frozen=True)
class Target:
    """A checked URL: the host as named (TLS and ``Host``), its port, the path to ask, and the addresses allowed."""

    host: str
    port: int
    path: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        """Return the ``Host`` header: the host (bracketed if IPv6), and the port unless it is 443."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"


def split(url: str) -> tuple[str, int, str]:
    """Return ``(host, port, path with query)`` of an ``https://`` URL; ``AddressRefused`` for anything else."""
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if not url.isascii() or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise AddressRefused("The URL must be ASCII without spaces or control characters (IDNA-encode the host).")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as exc:
        raise AddressRefused(f"The URL is not valid: {exc}.") from None
    if parts.scheme.lower() != "https":
        raise AddressRefused("The URL must start with https://.")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("The URL must not carry a user name or password.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise AddressRefused("The URL has no host.")
    path = parts.path or "/"
    return host, port, f"{path}?{parts.query}" if parts.query else path


def allowed_by_setting(host: str, port: int) -> bool:
    """Return whether ``LEDGER_WEBHOOK_ALLOWED_HOSTS`` lists the host, or ``host:port``."""
    listed = {entry.strip().lower() for entry in settings.LEDGER_WEBHOOK_ALLOWED_HOSTS}
    bracketed = f"[{host}]" if ":" in host else host
    return bool(listed & {host, bracketed, f"{bracketed}:{port}"})


def refusal(address: str) -> str | None:
    """Return why ``address`` may not receive webhooks (``"loopback"``, ``"private"``...), ``None`` if it may."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, refused in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    ):
        if refused:
            return kind
    return None


def resolve(url: str) -> Target:
    """Check ``url`` and resolve its host; return the target, or raise ``AddressRefused`` saying why.

    Every address the host resolves to is checked (a name with one private address among public
    ones is refused: the connection could reach either).
    """
    host, port, path = split(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"The host {host} does not resolve: {exc}.") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise AddressRefused(f"The host {host} resolves to no address.")
    if not allowed_by_setting(host, port):
        for address in addresses:
            why = refusal(address)
            if why is not None:
                raise AddressRefused(f"The host {host} resolves to {address}, a {why} address.")
    return Target(host=host, port=port, path=path, addresses=addresses)
