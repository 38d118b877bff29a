"""The egress guard in the upstream client's connect path: loopback listeners only, names resolved by an injected
resolver, and every refusal shown to reach no listener at all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence

import pytest

from tollgate_proxy.adapters.egress import Egress
from tollgate_proxy.adapters.upstream import Upstream
from tollgate_proxy.domain.errors import UpstreamFailed, UpstreamRefused
from tollgate_servicekit.egress import EgressGuard, Resolver


class Listener:
    """A loopback HTTP/1.1 server answering every request with `answer`; records what reached it."""

    def __init__(self, answer: bytes = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok") -> None:
        self.answer = answer
        self.connections = 0
        self.heads: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                self.heads.append(await reader.readuntil(b"\r\n\r\n"))
                writer.write(self.answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    served = Listener()
    served.server = await asyncio.start_server(served._serve, "127.0.0.1", 0)
    yield served
    served.server.close()


def resolver(answers: Mapping[str, Sequence[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"{host} does not resolve")
        return list(answers[host])

    return resolve


async def upstream(allow: Sequence[str] = (), answers: Mapping[str, Sequence[str]] | None = None) -> Upstream:
    guard = EgressGuard(allow, resolver=resolver(answers or {}))
    client = Upstream(read_timeout=5, connect_timeout=2, max_connections=4, egress=Egress(guard))
    await client.start()
    return client


async def test_a_name_resolving_to_loopback_is_refused_at_connect_time_and_the_listener_hears_nothing(
    listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    client = await upstream(answers={"provider.example.com": ["127.0.0.1"], "mixed.example.com": ["8.8.8.8", "::1"]})
    for url in (f"https://provider.example.com:{listener.port}/v1/x", f"https://mixed.example.com:{listener.port}/"):
        with pytest.raises(UpstreamRefused) as caught:
            await client.send("POST", url, {"authorization": "Bearer sk-secret"}, b"{}")
        assert caught.value.status == 502 and caught.value.should_retry is False
        assert "example.com" not in caught.value.message and "sk-secret" not in caught.value.message
    assert listener.connections == 0
    assert "sk-secret" not in caught.value.message and "sk-secret" not in caplog.text
    assert "resolves to an address that is not public" in caplog.text
    await client.close()


@pytest.mark.parametrize(
    "spelling",
    ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]", "[::1]", "localhost", "0.0.0.0"],
)
async def test_every_spelling_of_a_loopback_base_url_is_refused_before_connecting(
    listener: Listener, spelling: str
) -> None:
    client = await upstream()
    for scheme in ("http", "https"):
        with pytest.raises(UpstreamRefused):
            await client.send("POST", f"{scheme}://{spelling}:{listener.port}/v1/x", {}, b"{}")
    assert listener.connections == 0
    await client.close()


async def test_an_allow_listed_loopback_port_works_and_only_that_port(listener: Listener) -> None:
    other = Listener()
    other.server = await asyncio.start_server(other._serve, "127.0.0.1", 0)
    try:
        client = await upstream(
            allow=[f"127.0.0.1:{listener.port}", f"mock.test:{listener.port}"],
            answers={"mock.test": ["127.0.0.1"]},
        )
        for url in (f"http://127.0.0.1:{listener.port}/v1/x", f"http://mock.test:{listener.port}/v1/x"):
            response = await client.send("POST", url, {}, b"{}")
            assert (response.status, await response.read(100)) == (200, b"ok")
        assert b"host: mock.test:" in listener.heads[-1]  # the Host header keeps the original name
        with pytest.raises(UpstreamRefused):
            await client.send("POST", f"http://127.0.0.1:{other.port}/v1/x", {}, b"{}")
        assert other.connections == 0
        await client.close()
    finally:
        other.server.close()


async def test_a_redirect_is_handed_back_never_followed(listener: Listener) -> None:
    elsewhere = Listener()
    elsewhere.server = await asyncio.start_server(elsewhere._serve, "127.0.0.1", 0)
    listener.answer = (
        f"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{elsewhere.port}/steal\r\n"
        "content-length: 0\r\n\r\n"
    ).encode()
    try:
        client = await upstream(allow=[f"127.0.0.1:{listener.port}", f"127.0.0.1:{elsewhere.port}"])
        response = await client.send("POST", f"http://127.0.0.1:{listener.port}/v1/x", {"authorization": "k"}, b"{}")
        assert response.status == 307
        await response.read(100)
        assert (len(listener.heads), elsewhere.connections) == (1, 0)
        await client.close()
    finally:
        elsewhere.server.close()


async def test_a_name_that_does_not_resolve_is_a_failure_to_reach_not_a_refusal() -> None:
    client = await upstream()
    with pytest.raises(UpstreamFailed) as caught:
        await client.send("POST", "https://nowhere.example.com/v1/x", {}, b"{}")
    assert not isinstance(caught.value, UpstreamRefused)
    assert "does not resolve" in caught.value.message
    await client.close()
