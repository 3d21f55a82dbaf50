"""Which IP addresses the node may dial: only globally routable ones.

Refused: loopback, private (RFC 1918, unique-local fc00::/7), link-local, site-local fec0::/10,
multicast, reserved, unspecified, CGNAT 100.64.0.0/10, documentation and benchmarking ranges, and the
local-use NAT64 prefix 64:ff9b:1::/48. IPv6 forms that carry an IPv4 address are judged by that
IPv4 address: IPv4-mapped (::ffff:a.b.c.d), the well-known NAT64 prefix 64:ff9b::/96 and 6to4
(2002::/16). Teredo (2001::/32) is refused outright: its client address is chosen by whoever sets up
the tunnel, and the prefix is not globally routable anyway.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IpAddress = IPv4Address | IPv6Address

# Ranges Python's `is_global` does not refuse on every 3.11 patch release.
_EXTRA_IPV4: tuple[IPv4Network, ...] = (
    IPv4Network("0.0.0.0/8"), IPv4Network("100.64.0.0/10"), IPv4Network("192.0.0.0/24"),
    IPv4Network("192.0.2.0/24"), IPv4Network("192.88.99.0/24"), IPv4Network("198.18.0.0/15"),
    IPv4Network("198.51.100.0/24"), IPv4Network("203.0.113.0/24"), IPv4Network("224.0.0.0/4"),
    IPv4Network("240.0.0.0/4"),
)
_EXTRA_IPV6: tuple[IPv6Network, ...] = (
    IPv6Network("::/8"), IPv6Network("64:ff9b:1::/48"), IPv6Network("100::/64"), IPv6Network("2001::/23"),
    IPv6Network("2001:db8::/32"), IPv6Network("3fff::/20"), IPv6Network("5f00::/16"), IPv6Network("fc00::/7"),
    IPv6Network("fe80::/10"), IPv6Network("fec0::/10"), IPv6Network("ff00::/8"),
)
_NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64 64:ff9b::/96, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


def is_forbidden_address(address: IpAddress) -> bool:
    """True unless `address` is a globally routable unicast address the node may connect to."""
    if isinstance(address, IPv6Address):
        if address.scope_id:
            return True  # a zone index only makes sense for link-local addresses
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_forbidden_address(inner)
        if address.teredo is not None:
            return True
        if any(address in network for network in _EXTRA_IPV6) or address.is_site_local:
            return True
    elif any(address in network for network in _EXTRA_IPV4):
        return True
    return (not address.is_global or address.is_private or address.is_loopback or address.is_link_local
            or address.is_multicast or address.is_reserved or address.is_unspecified)


def parse_address(text: str) -> IpAddress:
    """An address as resolvers and URLs write it (`::1`, `fe80::1%eth0`, `[::1]`)."""
    return ipaddress.ip_address(text.strip("[]"))
