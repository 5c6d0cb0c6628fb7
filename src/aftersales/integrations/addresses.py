"""Where a webhook may be sent: not to the machine itself or the network it sits in (SSRF).

A URL is checked when its endpoint is created and again, resolved afresh, at every delivery: a
name that resolved to a public address yesterday may point at 127.0.0.1 today (DNS rebinding).
The delivery then connects to the very address that was checked, not to a second lookup.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class AddressRefused(ValueError):
    """The URL is malformed or leads to an address webhooks may not reach."""


# Beyond what `is_global` leaves out: IPv6 forms that carry an IPv4 address a gateway may
# translate to (NAT64, 6to4, Teredo, the old IPv4-compatible ::a.b.c.d), site-local IPv6, and the
# IPv4 ranges kept for those mechanisms.
_TUNNELS = [
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::/96", "fec0::/10")
]
_RESERVED_V4 = [ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24")]


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in net for net in _TUNNELS):
            return True
    if isinstance(ip, ipaddress.IPv4Address) and any(ip in net for net in _RESERVED_V4):
        return True
    return not ip.is_global or ip.is_multicast


def target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; AddressRefused if it is not one."""
    if any(c <= " " or c == "\x7f" for c in url):
        raise AddressRefused("the URL may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise AddressRefused(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise AddressRefused("the URL may not carry credentials")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(url: str, *, allow_private: bool) -> list[str]:
    """The addresses `url`'s host resolves to, every one of them allowed; AddressRefused otherwise
    (private, loopback, link-local, reserved or unresolvable), unless `allow_private`."""
    _, host, port = target(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"{host} does not resolve: {exc}") from None
    found = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in found:
            if _refused(ipaddress.ip_address(address.split("%")[0])):
                raise AddressRefused(f"{host} resolves to {address}, a private or reserved address")
    return found
