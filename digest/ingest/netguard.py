"""Which addresses the feed fetcher may connect to, checked on the address the socket really uses.

A feed URL comes from a subscriber's suggestion, a moderator or a redirect, so it must never reach
the machine itself or its network: loopback, private (RFC 1918, ULA), link-local (169.254.169.254,
the cloud metadata service), carrier-grade NAT, multicast, reserved and unspecified addresses are
refused, IPv4 and IPv6 alike, including IPv4 hidden in IPv6 (``::ffff:127.0.0.1``, 6to4, NAT64,
Teredo). Decimal and hex spellings (``2130706433``, ``0x7f000001``) need no special case: the check
runs on what ``getaddrinfo`` returns, just before ``connect``, for every request and every redirect
hop, so neither a redirect nor DNS rebinding (a name that resolves to a public address when the
moderator looks and to 127.0.0.1 when the worker fetches) gets round it.

An operator who mirrors feeds on a private host lists it in ``PAPERBOY_FETCH_ALLOW``: host names
(``mirror.lab.internal``: any address that name resolves to) and address ranges (``10.1.2.0/24``,
``127.0.0.1``). The tests allow their loopback servers that way.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IPv6 prefixes that carry an IPv4 address in their last 32 bits (RFC 6052 NAT64, also 64:ff9b:1::/48).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
# Special-purpose blocks (IANA registries) that older Pythons' ``is_global`` does not know about.
_SPECIAL = (
    ipaddress.IPv4Network("0.0.0.0/8"),
    ipaddress.IPv4Network("100.64.0.0/10"),
    ipaddress.IPv4Network("192.0.0.0/24"),
    ipaddress.IPv4Network("192.0.2.0/24"),
    ipaddress.IPv4Network("192.88.99.0/24"),
    ipaddress.IPv4Network("198.18.0.0/15"),
    ipaddress.IPv4Network("198.51.100.0/24"),
    ipaddress.IPv4Network("203.0.113.0/24"),
    ipaddress.IPv4Network("240.0.0.0/4"),
    ipaddress.IPv6Network("100::/64"),
    ipaddress.IPv6Network("2001::/23"),
    ipaddress.IPv6Network("2001:db8::/32"),
    ipaddress.IPv6Network("fc00::/7"),
    ipaddress.IPv6Network("fec0::/10"),
)


class AddressRefused(OSError):
    """The fetcher will not connect there; the message names the host and the kind of address."""


@dataclass(frozen=True)
class FetchAllow:
    """The operator's exceptions: host names and address ranges the fetcher may reach anyway."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, items: Iterable[str]) -> FetchAllow:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in items:
            item = raw.strip().strip("[]").lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    @classmethod
    def from_settings(cls) -> FetchAllow:
        value = getattr(settings, "PAPERBOY_FETCH_ALLOW", ())
        return cls.parse([value] if isinstance(value, str) else value)

    def allows_host(self, host: str) -> bool:
        return host.strip("[]").lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


def address_embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64, Teredo client), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible ::a.b.c.d (deprecated, but some stacks still route it).
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why the fetcher must not connect to ``address`` (a short phrase), or None when it is public."""
    embedded = address_embedded_ipv4(address)
    if embedded is not None:
        reason = address_refusal(embedded)
        return f"{reason} (inside {address})" if reason else None
    for attribute, phrase in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, attribute):
            return phrase
    if not address.is_global or any(address.version == net.version and address in net for net in _SPECIAL):
        # Carrier-grade NAT (100.64.0.0/10) and the other special-purpose blocks.
        return "a non-public address"
    return None


def host_literal_refusal(host: str) -> str | None:
    """Why a URL's host, as written, names this machine or its network (``localhost``, an internal IP
    literal), or None. For early, readable refusals of suggestions; the connect-time check is the guard."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return "the machine itself"
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    return address_refusal(ip)


def address_check(*, host: str, address: str, allow: FetchAllow) -> None:
    """Raise ``AddressRefused`` unless ``host``'s resolved ``address`` may be fetched."""
    if allow.allows_host(host):
        return
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if allow.allows_address(ip):
        return
    reason = address_refusal(ip)
    if reason:
        shown = host if host == str(ip) else f"{host} ({ip})"
        raise AddressRefused(f"refusing to fetch from {shown}: {reason} (PAPERBOY_FETCH_ALLOW can allow it)")


def connection_create(
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: tuple[str, int] | None = None,
    *,
    allow: FetchAllow,
) -> socket.socket:
    """``socket.create_connection`` that checks every resolved address before connecting to it.

    The address checked is the one connected to, so a second DNS answer cannot differ from it.
    """
    host, port = address
    last_error: OSError | None = None
    for family, socktype, proto, _name, sockaddr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        address_check(host=host, address=str(sockaddr[0]), allow=allow)
        sock = socket.socket(family, socktype, proto)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            last_error = exc
            sock.close()
    raise last_error or OSError(f"getaddrinfo returned nothing for {host!r}")
