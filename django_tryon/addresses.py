"""Which hosts and addresses a download may reach (SAFETY rule 11), without any I/O.

``host_allowed`` matches a host against an allow-list the way Django's ALLOWED_HOSTS
does; ``is_public_address`` says whether an address is globally routable, judging the
IPv6 forms that embed an IPv4 address (mapped, compatible, translated, 6to4, NAT64) by
the IPv4 address inside. ``fetch.download`` applies both to every address it connects to.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# NAT64 prefixes whose last 32 bits are an IPv4 address (RFC 6052, RFC 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether ``host`` matches an allow-list entry.

    ``"cdn.example.com"`` matches only that host; ``"*.example.com"`` matches any
    subdomain of example.com (not example.com itself); ``".example.com"`` matches
    example.com and any subdomain. ``"evilexample.com"`` matches none of them.
    """
    if isinstance(allowed_hosts, str):
        allowed_hosts = [allowed_hosts]
    host = _normalise_host(host)
    if not host:
        return False
    for entry in allowed_hosts:
        entry = _normalise_host(entry)
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                return True
        elif entry.startswith("."):
            if host == entry[1:] or host.endswith(entry):
                return True
        elif entry and host == entry:
            return True
    return False


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def valid_hostname(host: str) -> bool:
    if is_ip_literal(host):
        return True
    labels = host.split(".")
    return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if int(ip) >> 32 == 0 or ip in _IPV4_TRANSLATED:
        # IPv4-compatible (::a.b.c.d, deprecated) and IPv4-translated (::ffff:0:a.b.c.d):
        # Python counts both as global, yet the kernel may route them to the IPv4 host.
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """True only for a globally routable unicast address (and, for IPv6 forms that embed
    an IPv4 address, only when that address is too)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_unspecified


def is_local_host(host: str) -> bool:
    """``localhost``, or an IP literal that is not globally routable (loopback, private...):
    what the system checks call a local address. A name is not resolved."""
    return host == "localhost" or (is_ip_literal(host) and not is_public_address(host))
