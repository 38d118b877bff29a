"""The egress guard: every spelling of a local, private or metadata address is refused, public ones pass.

No test sends traffic anywhere but loopback: names are answered by fake resolvers, except `localhost`,
which the system resolves from /etc/hosts.
"""

from __future__ import annotations

import asyncio
import socket
from ipaddress import ip_address

import pytest

from tollgate_servicekit.egress import (
    MAX_URL_LENGTH,
    EgressGuard,
    EgressRefused,
    EgressUnresolved,
    Target,
    is_forbidden,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


class FakeResolver:
    """Answers every name with fixed addresses, in turn per call, and records what it was asked."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers) or [[PUBLIC_V4]]
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


# Every one of these is refused by parse alone, before any lookup, for the reason its key names.
REFUSED_STATICALLY = {
    "not a public address": [
        # loopback, in every spelling inet_aton or a browser reads as 127.0.0.1
        "https://127.0.0.1",
        "https://127.0.0.1./v1",
        "https://127.1",
        "https://127.0.1",
        "https://2130706433",
        "https://0x7f000001",
        "https://0X7F000001",
        "https://0177.0.0.1",
        "https://017700000001",
        "https://0x7f.1",
        "https://0x7f.0.0.0x1",
        "https://0177.0x0.1",
        "https://127.255.255.254",
        "https://\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits: IDNA folds them to ASCII
        "https://[::1]",
        "https://[0:0:0:0:0:0:0:1]",
        "https://[::ffff:127.0.0.1]",
        "https://[::ffff:7f00:1]",
        "https://[::127.0.0.1]",  # IPv4-compatible
        "https://[64:ff9b::7f00:1]",  # NAT64
        "https://[2002:7f00:1::1]",  # 6to4
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
        # unspecified and "this network"
        "https://0.0.0.0",
        "https://0",
        "https://0x0",
        "https://[::]",
        "https://0.1.2.3",
        # link-local and the metadata services
        "https://169.254.169.254/latest/meta-data/",
        "https://2852039166",
        "https://[::ffff:169.254.169.254]",
        "https://[64:ff9b::a9fe:a9fe]",
        "https://[fd00:ec2::254]",
        "https://[fe80::1]",
        # private, shared, benchmarking, documentation, multicast, reserved
        "https://10.0.0.1",
        "https://10.1",
        "https://172.16.0.1",
        "https://172.31.255.255",
        "https://192.168.1.1",
        "https://[::ffff:192.168.1.1]",
        "https://100.64.0.1",
        "https://198.18.0.1",
        "https://192.0.2.1",
        "https://192.0.0.170",
        "https://224.0.0.1",
        "https://240.0.0.1",
        "https://255.255.255.255",
        "https://4294967295",
        "https://[fc00::1]",
        "https://[fdff::1]",
        "https://[ff02::1]",
        "https://[2001:db8::1]",
    ],
    "zone id": ["https://[fe80::1%25eth0]", "https://[::1%251]"],
    "local or metadata name": [
        "https://localhost",
        "https://LOCALHOST.",
        "https://localhost:8443/v1",
        "https://api.localhost",
        "https://localhost.localdomain",
        "https://ip6-localhost",
        "https://\u24dbocalhost",  # circled l: IDNA nameprep folds it to "localhost"
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://METADATA.google.internal.",
        "https://metadata",
        "https://metadata.goog",
        "https://instance-data",
    ],
    "fully qualified": ["https://intranet"],  # search domains make a single label an internal host
    "must use https": ["http://93.184.216.34", "http://api.example.com/v1"],
    "scheme must be https": [
        "ftp://api.example.com",
        "file:///etc/passwd",
        "gopher://api.example.com:70/_x",
        "localhost:8080",
        "//api.example.com/v1",
    ],
    "user name or password": [
        "https://user:pass@api.example.com",
        "https://user@api.example.com",
        "https://api.example.com\\@127.0.0.1",
        "https://api.example.com%40@127.0.0.1",
    ],
    "no host": ["https://", "https://:443", "https:///v1", "https:api.example.com"],
    "not a valid IPv4 address": [
        "https://1.2.3.4.5",
        "https://256.0.0.1",
        "https://127.0.0.256",
        "https://127.16777216",
        "https://4294967296",
        "https://08.0.0.1",
        "https://0x1g.0.0.1",
        "https://0x000000007f000001",
        "https://api.example.123",  # a host ending in a number is an address or nothing
    ],
    "not a valid name": [
        "https://%6c%6fcalhost",
        "https://api..example.com",
        "https://-api.example.com",
        "https://" + "a" * 64 + ".example.com",
    ],
    "not valid": ["https://[::1", "https://[127.0.0.1]", "https://[not-an-ip]", "https://::1", "https://[::1]x"],
    "whitespace or control": ["https://exa mple.com", "https://exam\tple.com", "https://api.example.com\x00.evil"],
    "port must be a number": [
        "https://api.example.com:0",
        "https://api.example.com:65536",
        "https://api.example.com:99999999999",
        "https://api.example.com:-1",
        "https://api.example.com:+443",
        "https://api.example.com:44a",
        "https://api.example.com:\uff14\uff14\uff13",  # full-width digits
    ],
}


@pytest.mark.parametrize(
    ("url", "because"), [(url, because) for because, urls in REFUSED_STATICALLY.items() for url in urls]
)
async def test_every_spelling_of_a_forbidden_target_is_refused_before_any_lookup(url: str, because: str) -> None:
    resolver = FakeResolver()
    guard = EgressGuard(resolver=resolver)
    with pytest.raises(EgressRefused) as parsed:
        guard.parse(url)
    with pytest.raises(EgressRefused) as checked:
        await guard.check_url(url)
    assert because in parsed.value.reason
    assert parsed.value.reason == checked.value.reason == str(checked.value)
    assert resolver.calls == []
    assert len(parsed.value.reason) < 120


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://{PUBLIC_V4}/v1", Target("https", PUBLIC_V4, 443, "/v1")),
        ("https://0x5db8d822", Target("https", PUBLIC_V4, 443, "")),  # other spellings of a public address
        ("https://1572395042:8443", Target("https", PUBLIC_V4, 8443, "")),
        (f"https://[{PUBLIC_V6.upper()}]/v1", Target("https", PUBLIC_V6, 443, "/v1")),
        (f"https://[::ffff:{PUBLIC_V4}]", Target("https", str(ip_address(f"::ffff:{PUBLIC_V4}")), 443, "")),
        ("https://[2002:5db8:d822::1]", Target("https", "2002:5db8:d822::1", 443, "")),
    ],
)
async def test_a_public_address_is_allowed_and_used_without_a_lookup(url: str, expected: Target) -> None:
    resolver = FakeResolver()
    guard = EgressGuard(resolver=resolver)
    assert guard.parse(url) == expected
    assert await guard.check_url(url) == expected
    literal = str(ip_address(expected.host))
    assert await guard.resolve(expected) == [literal]
    assert resolver.calls == []


async def test_a_public_name_is_normalised_resolved_and_its_checked_addresses_returned() -> None:
    resolver = FakeResolver([PUBLIC_V4, PUBLIC_V6, PUBLIC_V4])
    guard = EgressGuard(resolver=resolver)
    target = guard.parse("HTTPS://API.OpenAI.com.:443/v1?api-version=1#ignored")
    assert target == Target("https", "api.openai.com", 443, "/v1", "api-version=1")
    assert target.url == "https://api.openai.com/v1?api-version=1"
    assert target.authority == "api.openai.com"
    assert await guard.resolve(target) == [PUBLIC_V4, PUBLIC_V6]
    assert resolver.calls == [("api.openai.com", 443)]
    assert guard.parse("https://bücher.example/x").host == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["::1"],
        [PUBLIC_V4, "10.0.0.1"],  # any forbidden answer refuses the name, whichever comes first
        [PUBLIC_V6, "169.254.169.254"],
        ["::ffff:127.0.0.1"],
        ["fd00:ec2::254"],
        ["fe80::1%1"],
        ["not-an-address"],
    ],
)
async def test_a_name_resolving_to_a_forbidden_address_is_refused_at_resolve_time(answers: list[str]) -> None:
    guard = EgressGuard(resolver=FakeResolver(answers))
    target = guard.parse("https://rebind.example.com/v1")  # the name alone is fine
    with pytest.raises(EgressRefused) as refused:
        await guard.resolve(target)
    assert "not public" in refused.value.reason
    assert not isinstance(refused.value, EgressUnresolved)  # an answer was refused: not a lookup failure
    assert all(answer not in refused.value.reason for answer in answers)  # internal addresses are not revealed
    with pytest.raises(EgressRefused):
        await guard.check_url("https://rebind.example.com/v1")


async def test_every_resolve_is_checked_so_dns_rebinding_cannot_pass() -> None:
    resolver = FakeResolver([PUBLIC_V4], ["127.0.0.1"])
    guard = EgressGuard(resolver=resolver)
    target = await guard.check_url("https://rebind.example.com")  # create time: the name answers public
    with pytest.raises(EgressRefused):
        await guard.resolve(target)  # connect time: it now answers loopback
    assert len(resolver.calls) == 2


async def test_a_name_that_does_not_resolve_is_refused_as_unresolved() -> None:
    async def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def empty(host: str, port: int) -> list[str]:
        return []

    async def hanging(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    for resolver, timeout in ((failing, 5.0), (empty, 5.0), (hanging, 0.01)):
        guard = EgressGuard(resolver=resolver, timeout=timeout)
        with pytest.raises(EgressUnresolved, match="could not be resolved") as refused:
            await guard.check_url("https://nowhere.example.com")
        assert isinstance(refused.value, EgressRefused)  # callers that only refuse need not know the difference


async def test_a_hand_built_target_is_checked_again_when_resolved() -> None:
    guard = EgressGuard(resolver=FakeResolver(["127.0.0.1"]))
    for target in (
        Target("https", "localhost", 443),
        Target("https", "0:0::1", 443),
        Target("http", "api.example.com", 80),
        Target("https", "127.1", 443),  # not canonical: treated as a name, and its answer is checked
    ):
        with pytest.raises(EgressRefused):
            await guard.resolve(target)


async def test_the_system_resolver_answers_localhost_only_when_it_is_allow_listed() -> None:
    with pytest.raises(EgressRefused, match="local"):
        await EgressGuard().check_url("https://localhost:18443")
    guard = EgressGuard(allow=["localhost:18443"])
    addresses = await guard.resolve(guard.parse("http://localhost:18443/v1"))
    assert addresses
    assert all(ip_address(address).is_loopback for address in addresses)


async def test_an_allow_listed_loopback_port_passes_with_http_and_is_connected_to_by_its_checked_address() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    guard = EgressGuard(allow=[f"127.0.0.1:{port}"])
    async with server:
        target = await guard.check_url(f"http://127.0.0.1:{port}/v1")
        assert target == Target("http", "127.0.0.1", port, "/v1")
        (address,) = await guard.resolve(target)
        reader, writer = await asyncio.open_connection(address, target.port)
        assert await reader.read() == b"ok"
        writer.close()
        await writer.wait_closed()
    with pytest.raises(EgressRefused):
        guard.parse(f"http://127.0.0.1:{port + 1}/v1")
    with pytest.raises(EgressRefused):
        guard.parse(f"http://127.0.0.2:{port}/v1")


async def test_allow_list_entries_and_urls_are_compared_after_normalising_both() -> None:
    # Another spelling of the allow-listed address reaches the same socket, so it matches, in both directions.
    assert EgressGuard(allow=["127.0.0.1:18090"]).parse("http://127.1:18090").host == "127.0.0.1"
    assert EgressGuard(allow=["127.1:18090"]).parse("http://0x7f000001:18090").host == "127.0.0.1"
    assert EgressGuard(allow=["[0:0::1]:18090"]).parse("http://[::1]:18090").host == "::1"
    assert EgressGuard(allow=["LocalHost.:18090"]).parse("http://localhost:18090").port == 18090
    assert EgressGuard(allow=["127.0.0.1:80"]).parse("http://127.0.0.1").port == 80  # default port counts
    assert EgressGuard(allow=["127.0.0.1:443"]).parse("https://127.0.0.1").port == 443
    refused = [
        (["127.0.0.1:18090"], "http://127.0.0.1:18091"),  # another port
        (["127.0.0.1:18090"], "http://127.0.0.1"),
        (["127.0.0.1:18090"], "http://localhost:18090"),  # a name is not its addresses
        (["localhost:18090"], "http://127.0.0.1:18090"),
        (["127.0.0.1:18090"], "http://[::ffff:127.0.0.1]:18090"),  # another family is another socket
        (["127.0.0.1:18090"], "http://127.0.0.1.evil.example:18090"),  # no prefix matching
        (["api.example.com:443"], "https://evil-api.example.com"),
    ]
    for allow, url in refused:
        with pytest.raises(EgressRefused):
            await EgressGuard(allow=allow, resolver=FakeResolver(["127.0.0.1"])).check_url(url)


async def test_an_allow_listed_name_may_resolve_to_a_private_address() -> None:
    guard = EgressGuard(allow=["mockprovider:8080"], resolver=FakeResolver(["172.18.0.5"]))
    assert await guard.resolve(guard.parse("http://mockprovider:8080/v1")) == ["172.18.0.5"]
    with pytest.raises(EgressRefused):
        await guard.check_url("https://mockprovider:8081/v1")


@pytest.mark.parametrize(
    "entry", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:x", "http://127.0.0.1:80", "::1:80", "[fe80::1%eth0]:80", ""]
)
def test_a_malformed_allow_list_entry_is_an_operator_error(entry: str) -> None:
    with pytest.raises(ValueError, match="allow-list entry"):
        EgressGuard(allow=[entry])


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:s3cr3t-pa55@api.example.com/v1",
        "https://sk-live-s3cr3t-pa55@api.example.com/v1",
        "http://alice:s3cr3t-pa55@127.0.0.1:18090/v1",
        "https://alice:s3cr3t-pa55@[::1]/v1",
    ],
)
def test_userinfo_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(EgressRefused) as refused:
        EgressGuard(allow=["127.0.0.1:18090"]).parse(url)
    assert "user name or password" in refused.value.reason
    assert "s3cr3t" not in str(refused.value)
    assert "alice" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://" + "a" * 60_000 + ".example.com/v1",
        "https://api.example.com/" + "x" * 60_000,
        "https://" + "1" * 1_900,
        "https://" + "a" * 1_900 + "!.example.com",
        "https://" + "b" * 70 + ".localhost",
        "ftp" + "x" * 1_900 + "://api.example.com",
    ],
)
def test_the_reason_for_a_long_url_is_short(url: str) -> None:
    with pytest.raises(EgressRefused) as refused:
        EgressGuard().parse(url)
    assert len(refused.value.reason) < 100
    assert "a" * 50 not in refused.value.reason
    assert "1" * 50 not in refused.value.reason


def test_the_length_limit_is_stated() -> None:
    with pytest.raises(EgressRefused, match=str(MAX_URL_LENGTH)):
        EgressGuard().parse("https://api.example.com/" + "x" * MAX_URL_LENGTH)


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0", "0.255.255.255", "10.0.0.1", "100.64.0.1", "100.127.255.255", "127.0.0.1", "127.9.9.9",
        "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1",
        "192.168.0.1", "198.18.0.1", "198.19.255.255", "198.51.100.1", "203.0.113.1", "224.0.0.1",
        "239.255.255.250", "240.0.0.1", "255.255.255.255",
        "::", "::1", "::127.0.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:0:a00:1", "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::1", "2002:a9fe:a9fe::", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:a00:1::1",
        "fc00::1", "fd00:ec2::254", "fe80::1", "fe80::1%eth0", "febf::1", "ff02::1", "ff05::1:3",
        "2001:db8::1", "3fff::1", "2001:2::1", "2001:10::1", "100::1", "4000::1", "fec0::1",
    ],
)  # fmt: skip
def test_is_forbidden_refuses_every_non_public_range(address: str) -> None:
    assert is_forbidden(ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC_V4, "8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1", "169.255.0.1",
        "192.169.0.1", "11.0.0.1", "223.255.255.254",
        PUBLIC_V6, "2001:4860:4860::8888", "2a00:1450:4001::1", f"::ffff:{PUBLIC_V4}", "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)  # fmt: skip
def test_is_forbidden_allows_public_unicast(address: str) -> None:
    assert not is_forbidden(ip_address(address))
