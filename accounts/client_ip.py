"""The visitor's address behind the site's own reverse proxies (``PAPERBOY_TRUSTED_PROXIES``).

Rate limits per address are only as good as the address: behind a proxy every visitor arrives from
the proxy's address, so ten failed logins by one stranger blocked everybody (security review M5).
``X-Forwarded-For`` can be forged by the visitor, so only the entries our own proxies appended are
believed:

* a count (``1``: one nginx in front) is handed to allauth's own logic
  (``ALLAUTH_TRUSTED_PROXY_COUNT``): the client is the N-th address from the right;
* a list of proxy addresses or ranges (``10.0.0.0/8,192.0.2.7``): starting from the connecting
  address, skip our proxies from the right; the first address that is not one of them is the client.

Nothing set (the default): ``REMOTE_ADDR``, and the header is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest

from paperboy.env import ImproperlyConfiguredEnv

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies_parse(raw: str) -> int | tuple[IPNetwork, ...]:
    """``""`` → 0, ``"2"`` → 2, ``"10.0.0.0/8, 192.0.2.7"`` → networks. Fails loudly on anything else."""
    raw = raw.strip()
    if not raw:
        return 0
    if raw.isdigit():
        return int(raw)
    networks = []
    for item in raw.split(","):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfiguredEnv(
                f"PAPERBOY_TRUSTED_PROXIES: {item.strip()!r} is neither a count nor an address or range"
            ) from None
    return tuple(networks)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:5123"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_ip_behind(*, remote_addr: str, forwarded_for: str, proxies: Sequence[IPNetwork]) -> str | None:
    """The first address, from the right, that is not one of our proxies."""
    chain = [remote_addr, *reversed([p for p in forwarded_for.split(",") if p.strip()])]
    for hop in chain:
        address = _address(hop)
        if address is None:
            return None  # a garbled entry past our proxies: nothing to believe
        if not any(address.version == net.version and address in net for net in proxies):
            return str(address)
    # Every hop is one of ours (a health check from the proxy itself): the last one is the client.
    last = _address(chain[-1])
    return str(last) if last else None


def trusted_proxy_networks() -> tuple[IPNetwork, ...]:
    value = getattr(settings, "PAPERBOY_TRUSTED_PROXIES", 0)
    return value if isinstance(value, tuple) else ()


def client_ip(request: HttpRequest) -> str | None:
    """For a proxy list; None when the list is not in use (allauth's count logic applies)."""
    proxies = trusted_proxy_networks()
    if not proxies:
        return None
    return client_ip_behind(
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
        proxies=proxies,
    )
