"""Which IP addresses Tollgate never connects to with a key: anything but public unicast.

Loopback, private, shared (carrier NAT), link-local (the metadata service 169.254.169.254), unique-local,
multicast, unspecified, documentation and benchmarking ranges, and IPv6 addresses that embed a forbidden IPv4
address (mapped, NAT64, 6to4, Teredo). The egress guard (`tollgate_servicekit.egress`) applies it to every
literal host and every DNS answer.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

__all__ = ["is_forbidden"]

# fmt: off
_FORBIDDEN_V4 = tuple(map(IPv4Network, (
    "0.0.0.0/8",                                            # "this network": 0.0.0.0 reaches this host on Linux
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",        # private
    "100.64.0.0/10", "127.0.0.0/8",                         # shared address space (carrier NAT); loopback
    "169.254.0.0/16",                                       # link-local: the metadata service 169.254.169.254
    "192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15",      # IETF assignments; 6to4 relay anycast; benchmarking
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",    # documentation
    "224.0.0.0/4", "240.0.0.0/4",                           # multicast; reserved, and broadcast 255.255.255.255
)))
# IPv6: only global unicast (2000::/3) is reached, less the first row. The other rows, outside 2000::/3, are
# there for readers. Addresses that embed an IPv4 address are judged by that address (_embedded_v4).
_GLOBAL_UNICAST, _NAT64 = IPv6Network("2000::/3"), IPv6Network("64:ff9b::/96")
_FORBIDDEN_V6 = tuple(map(IPv6Network, (
    "2001:2::/48", "2001:10::/28", "2001:20::/28", "2001:db8::/32", "3fff::/20",  # bench, ORCHID(v2), docs
    "::/128", "::1/128", "::/96",                           # unspecified; loopback; IPv4-compatible (deprecated)
    "fc00::/7", "fd00:ec2::254/128",                        # unique local, incl. the AWS metadata service
    "fe80::/10", "ff00::/8", "64:ff9b:1::/48",              # link-local; multicast; local-use NAT64
)))
# fmt: on


def is_forbidden(ip: IPv4Address | IPv6Address) -> bool:
    """True when ``ip`` is not a public unicast address Tollgate may send a key to."""
    if isinstance(ip, IPv4Address):
        return any(ip in net for net in _FORBIDDEN_V4)
    if ip.scope_id:
        return True  # a zone id only means something on a local link
    embedded = _embedded_v4(ip)
    if embedded:
        return any(is_forbidden(v4) for v4 in embedded)
    return ip not in _GLOBAL_UNICAST or any(ip in net for net in _FORBIDDEN_V6)


def _embedded_v4(ip: IPv6Address) -> list[IPv4Address]:
    """The IPv4 addresses a packet to ``ip`` would reach: mapped, NAT64, 6to4, Teredo (server and client)."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64:
        return [IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []
