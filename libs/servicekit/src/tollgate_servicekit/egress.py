"""The egress guard: check a URL a user supplied before Tollgate connects to it.

Unchecked, a credential base URL of ``https://169.254.169.254`` or ``http://127.1:4333`` would hand a
provider key to the cloud metadata service or reach Tollgate's own bus. Wherever such a URL is used::

    guard = EgressGuard(allow=["127.0.0.1:8090"])  # operator allow-list of host:port
    target = guard.parse(url)                      # static checks, no I/O
    addresses = await guard.resolve(target)        # looks the host up; refuses if ANY answer is forbidden
    # Connect to one of `addresses` (TLS server_hostname=target.host, Host: target.authority), never to
    # target.host again: a second lookup may answer differently (DNS rebinding). Never re-parse `url`.

``await guard.check_url(url)`` is parse + resolve, for create-time checks. A refusal raises ``EgressRefused``,
whose ``reason`` is one short sentence safe to show a user (at most a short prefix of the host, no userinfo);
a name that does not resolve raises its subclass ``EgressUnresolved``. Which addresses are forbidden is
``tollgate_servicekit.addresses``.

``parse`` refuses: any scheme but http(s); http unless the host:port is allow-listed; a user name or password;
a missing or invalid host; a port outside 1-65535; whitespace or control characters; over ``MAX_URL_LENGTH``.
Names are lowercased, IDNA-encoded (``ⓛocalhost`` is ``localhost``), a trailing dot dropped; a host whose
last label is a number must be an IPv4 literal, read as inet_aton and browsers read it (``2130706433``,
``0x7f000001``, ``0177.0.0.1``, ``127.1``, ``127.0.1``, mixed); IPv6 literals may embed IPv4
(``[::ffff:127.0.0.1]``), never a zone id. A literal must not be ``is_forbidden``; a name must not be
``localhost``, ``*.localhost``, another local alias, a metadata name, or a single label (search domains
resolve those to internal hosts).

Allow-list entries (``host:port``, ``[v6]:port``) are normalised like URL hosts: ``127.1:8090`` and
``127.0.0.1:8090`` are one entry matching every spelling of that address on that port (the same socket).
Another address or port does not match; a name entry matches that name, not its addresses. An allow-listed
target may use http and skips the address checks.

Redirects: callers never follow one with a key (the proxy's upstream client does not): the guard vouched
for the first URL only.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from tollgate_servicekit.addresses import is_forbidden

__all__ = [
    "MAX_URL_LENGTH",
    "EgressGuard",
    "EgressRefused",
    "EgressUnresolved",
    "Resolver",
    "Target",
    "is_forbidden",
    "system_resolver",
]

MAX_URL_LENGTH = 2048

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Answers the addresses (as text) of a host name for a TCP connection to a port; raises OSError on failure."""

_DEFAULT_PORTS = {"https": 443, "http": 80}

# fmt: off
# Names that reach this host or the cloud metadata service whatever DNS says (/etc/hosts, resolver rules).
_LOCAL_NAMES = frozenset((
    "localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6", "ip6-localhost", "ip6-loopback",
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
))
# fmt: on
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_V4_PART = re.compile(r"0x[0-9a-f]{0,8}|0[0-7]{0,11}|[1-9][0-9]{0,9}")
_NAME_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_BAD_CHAR = re.compile(r"[\x00-\x20\x7f-\x9f\s]")


class EgressRefused(Exception):
    """Tollgate will not connect to this URL; ``reason`` is one short sentence safe to show its author."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EgressUnresolved(EgressRefused):
    """The host's name did not resolve (lookup failed, timed out or gave no address): perhaps a passing DNS
    fault rather than a forbidden target, so a caller may treat it as "unreachable" instead of "refused"."""


@dataclass(frozen=True)
class Target:
    """A checked URL: ``host`` is lowercase (IP literals canonical, IPv6 without brackets), ``port`` explicit."""

    scheme: str
    host: str
    port: int
    path: str = ""
    query: str = ""

    @property
    def authority(self) -> str:
        """``host[:port]`` for a Host header (brackets around IPv6, default port left out)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS.get(self.scheme) else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The normalised URL, fragment dropped (it is never sent)."""
        return f"{self.scheme}://{self.authority}{self.path}" + (f"?{self.query}" if self.query else "")


async def system_resolver(host: str, port: int) -> list[str]:
    """The default resolver: the event loop's getaddrinfo (the system's resolver, /etc/hosts included)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


class EgressGuard:
    """Checks URLs against the rules in the module docstring; ``allow`` lists operator-trusted ``host:port``."""

    def __init__(self, allow: Iterable[str] = (), *, resolver: Resolver | None = None, timeout: float = 5.0) -> None:
        self._allow = frozenset(_allow_entry(entry) for entry in allow)
        self._resolver = resolver or system_resolver
        self._timeout = timeout

    def parse(self, url: str) -> Target:
        """Static checks, no I/O: the URL's form, and its host when that is a literal or a local name."""
        url = url.strip()
        if len(url) > MAX_URL_LENGTH:
            raise EgressRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
        if _BAD_CHAR.search(url):
            raise EgressRefused("the URL contains whitespace or control characters")
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise EgressRefused("the URL is not valid") from exc
        if parts.scheme not in _DEFAULT_PORTS:
            raise EgressRefused(f"the URL scheme must be https, not {_show(parts.scheme or 'none')}")
        if "@" in parts.netloc:
            raise EgressRefused("the URL must not contain a user name or password")
        host_text, port_text = _split_authority(parts.netloc)
        host = _canonical_host(host_text)
        target = Target(parts.scheme, host, _port(port_text, _DEFAULT_PORTS[parts.scheme]), parts.path, parts.query)
        self._check(target)
        return target

    async def resolve(self, target: Target) -> list[str]:
        """The addresses to connect to, each checked; refuses when any answer is forbidden (unless allow-listed)."""
        allowed = self._check(target)  # again: a Target may have been built or stored by hand
        if (literal := _literal(target.host)) is not None:
            return [str(literal)]
        try:
            async with asyncio.timeout(self._timeout):
                answers = await self._resolver(target.host, target.port)
        except (OSError, TimeoutError) as exc:  # socket.gaierror is an OSError
            raise EgressUnresolved(f"the host {_show(target.host)} could not be resolved") from exc
        addresses: list[str] = []
        for answer in answers:
            ip = _literal(answer)
            # The address itself stays out of the reason: it would map internal names for whoever asks.
            if ip is None or (not allowed and is_forbidden(ip)):
                raise EgressRefused(f"the host {_show(target.host)} resolves to an address that is not public")
            if str(ip) not in addresses:
                addresses.append(str(ip))
        if not addresses:
            raise EgressUnresolved(f"the host {_show(target.host)} could not be resolved")
        return addresses

    async def check_url(self, url: str) -> Target:
        """``parse`` then ``resolve``: the check to run when a URL is accepted (a credential is created)."""
        target = self.parse(url)
        await self.resolve(target)
        return target

    def _check(self, target: Target) -> bool:
        """Refuses what the host and scheme alone rule out; True when the target is allow-listed."""
        if (target.host, target.port) in self._allow:
            return True
        ip = _literal(target.host)
        if ip is not None and is_forbidden(ip):
            raise EgressRefused(f"the address {_show(target.host)} is not a public address")
        if ip is None and (target.host in _LOCAL_NAMES or target.host.endswith(".localhost")):
            raise EgressRefused(f"the host {_show(target.host)} is a local or metadata name")
        if ip is None and "." not in target.host:
            raise EgressRefused(f"the host {_show(target.host)} must be a fully qualified name")
        if target.scheme != "https":
            raise EgressRefused("the URL must use https (plain http only for an allow-listed host:port)")
        return False


def _allow_entry(entry: str) -> tuple[str, int]:
    """An allow-list entry as (canonical host, port); a malformed entry is the operator's error: ValueError."""
    try:
        host_text, port_text = _split_authority(entry.strip())
        if not port_text:
            raise EgressRefused("no port")
        return _canonical_host(host_text), _port(port_text, 0)
    except EgressRefused as exc:
        raise ValueError(f"egress allow-list entry {entry!r} is not host:port ({exc.reason})") from exc


def _split_authority(netloc: str) -> tuple[str, str]:
    """``host`` and ``port`` text of an authority with no userinfo; the host keeps IPv6 brackets."""
    if netloc.startswith("["):
        host, bracket, rest = netloc.partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise EgressRefused("the URL's host is not valid")
        return host + bracket, rest[1:]
    host, _, port = netloc.partition(":")
    if ":" in port:
        raise EgressRefused("the URL's host is not valid (an IPv6 address needs brackets)")
    return host, port


def _port(text: str, default: int) -> int:
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535):
        raise EgressRefused("the URL's port must be a number from 1 to 65535")
    return int(text)


def _canonical_host(raw: str) -> str:
    """The host as a lowercase name or canonical IP text (IPv6 without brackets)."""
    if raw.startswith("["):
        if "%" in raw:
            raise EgressRefused("the URL's IPv6 address must not carry a zone id")
        try:
            ip6 = IPv6Address(raw[1:-1])
        except ValueError as exc:
            raise EgressRefused("the URL's host is not a valid IPv6 address") from exc
        return str(ip6)
    host = raw.lower()
    if not host.isascii():
        try:  # nameprep folds look-alikes and full-width digits into ASCII, as resolvers would
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise EgressRefused("the URL's host is not a valid name") from exc
    host = host.removesuffix(".")
    if not host:
        raise EgressRefused("the URL has no host")
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):  # browsers read such a host as IPv4, or refuse it
        ip4 = _inet_aton(labels)
        if ip4 is None:
            raise EgressRefused(f"the host {_show(host)} is not a valid IPv4 address")
        return str(ip4)
    if len(host) > 253 or not all(_NAME_LABEL.fullmatch(label) for label in labels):
        raise EgressRefused(f"the host {_show(host)} is not a valid name")
    return host


def _inet_aton(parts: list[str]) -> IPv4Address | None:
    """Reads 1-4 dotted numbers (decimal, 0-octal, 0x-hex) as inet_aton does: the last fills the rest."""
    if len(parts) > 4 or not all(_V4_PART.fullmatch(part) for part in parts):
        return None
    values = [int(p[2:] or "0", 16) if p.startswith("0x") else int(p, 8 if p.startswith("0") else 10) for p in parts]
    *head, last = values
    if any(value > 0xFF for value in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    return IPv4Address(last + sum(byte << (24 - 8 * i) for i, byte in enumerate(head)))


def _literal(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text)
    except ValueError:
        return None


def _show(text: str, limit: int = 40) -> str:
    """A short, quoted prefix of a value for a reason: never the whole of a long submitted string."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
