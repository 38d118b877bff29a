"""The upstream HTTP/1.1 client against small real servers, on both event loops the proxy may run on.

Each scenario runs under asyncio's own loop and under uvloop (what `tollgate-proxy` uses): the two differ in
details a protocol sees, such as when `connection_made` is called.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tollgate_proxy.adapters.egress import Egress
from tollgate_proxy.adapters.http1 import HIGH_WATER, Response
from tollgate_proxy.adapters.upstream import Upstream, parse_target, request_head
from tollgate_proxy.domain.errors import UpstreamFailed, UpstreamTimedOut
from tollgate_servicekit.egress import EgressGuard

Runner = Callable[[Coroutine[Any, Any, None]], None]
RUNNERS = [pytest.param(asyncio.run, id="asyncio"), pytest.param(uvloop.run, id="uvloop")]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A TCP server whose every connection is handled by `handler`; counts the connections it accepted."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.tls)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client left, or the scenario is over
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The head and body of one request (bodies have a Content-Length here)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


def answer(body: bytes, *extra: str) -> bytes:
    headers = "".join(f"{h}\r\n" for h in extra)
    return f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n{headers}\r\n".encode() + body


async def keep_answering(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo each request's body back, on the same connection, until the client leaves."""
    while True:
        _, body = await read_request(reader)
        writer.write(answer(b"echo:" + body, "content-type: text/plain"))
        await writer.drain()


def client(url: str, **changes: Any) -> Upstream:
    """A client whose egress guard allows the test server's loopback host:port (and nothing else)."""
    allowed = urlsplit(url).netloc
    settings: dict[str, Any] = {"read_timeout": 5.0, "connect_timeout": 2.0, "max_connections": 8}
    settings.update(changes)
    return Upstream(egress=Egress(EgressGuard([allowed])), **settings)


async def body_of(response: Response) -> bytes:
    return await response.read(1 << 30)


@pytest.mark.parametrize("run", RUNNERS)
def test_requests_reuse_a_kept_alive_connection(run: Runner) -> None:
    async def scenario() -> None:
        async with Server(keep_answering) as server:
            upstream = client(server.url)
            await upstream.start()
            for n in range(3):
                response = await upstream.send("POST", server.url + "/v1/x", {"x-n": str(n)}, b"hello%d" % n)
                assert (response.status, response.headers["content-type"]) == (200, "text/plain")
                assert await body_of(response) == b"echo:hello%d" % n
            assert server.connections == 1
            await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_a_chunked_body_arrives_piece_by_piece_as_it_is_sent(run: Runner) -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n")
            writer.write(b"6\r\ndata:1\r\n")
            await writer.drain()
            await release.wait()  # the first piece must reach the client before the second is even sent
            writer.write(b"6\r\ndata:2\r\n0\r\n\r\n")
            await writer.drain()
            await read_request(reader)

        async with Server(chunked) as server:
            upstream = client(server.url)
            await upstream.start()
            response = await upstream.send("GET", server.url + "/stream", {}, None)
            assert await response.next_chunk() == b"data:1"
            release.set()
            assert await response.next_chunk() == b"data:2"
            assert await response.next_chunk() is None
            await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_a_body_without_length_ends_with_the_connection_which_is_not_reused(run: Runner) -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        await writer.drain()

    async def scenario() -> None:
        async with Server(until_close) as server:
            upstream = client(server.url)
            await upstream.start()
            for _ in range(2):
                assert await body_of(await upstream.send("POST", server.url, {}, b"")) == b"all of it"
            assert server.connections == 2
            await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_connections_are_capped_and_a_caller_waits_for_a_free_one(run: Runner) -> None:
    async def scenario() -> None:
        async with Server(keep_answering) as server:
            upstream = client(server.url, max_connections=2)
            await upstream.start()

            async def call(n: int) -> bytes:
                async with await upstream.send("POST", server.url, {}, b"%d" % n) as response:
                    await asyncio.sleep(0.01)
                    return await body_of(response)

            bodies = await asyncio.gather(*(call(n) for n in range(10)))
            assert bodies == [b"echo:%d" % n for n in range(10)]
            assert server.connections == 2
            await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_a_post_is_never_sent_twice_but_a_get_is_retried_on_a_fresh_connection(run: Runner) -> None:
    async def once_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, body = await read_request(reader)
        writer.write(answer(body))
        await writer.drain()
        await read_request(reader)  # the next request on this connection is dropped unanswered

    async def scenario() -> None:
        async with Server(once_then_hang_up) as server:
            upstream = client(server.url)
            await upstream.start()
            assert await body_of(await upstream.send("POST", server.url, {}, b"a")) == b"a"
            with pytest.raises(UpstreamFailed):
                await upstream.send("POST", server.url, {}, b"b")
            assert await body_of(await upstream.send("POST", server.url, {}, b"c")) == b"c"  # a new connection
            response = await upstream.send("GET", server.url, {}, None)  # meets the hang-up, retried once
            assert response.status == 200
            assert server.connections == 3  # the GET's retry was the third
            await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_a_silent_provider_times_out_before_and_during_the_body(run: Runner) -> None:
    async def silent_then_stalled(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, body = await read_request(reader)
        if body == b"silent":
            await asyncio.sleep(10)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nsome")
        await writer.drain()
        await asyncio.sleep(10)

    async def scenario() -> None:
        async with Server(silent_then_stalled) as server:
            upstream = client(server.url, read_timeout=0.2)
            await upstream.start()
            with pytest.raises(UpstreamTimedOut):
                await upstream.send("POST", server.url, {}, b"silent")
            response = await upstream.send("POST", server.url, {}, b"stall")
            assert await response.next_chunk() == b"some"
            with pytest.raises(UpstreamTimedOut):
                await response.next_chunk()
            await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_a_body_cut_short_is_an_error_not_an_end(run: Runner) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial")
        await writer.drain()

    async def scenario() -> None:
        async with Server(cut) as server:
            upstream = client(server.url)
            await upstream.start()
            response = await upstream.send("POST", server.url, {}, b"")
            assert await response.next_chunk() == b"partial"
            with pytest.raises(UpstreamFailed):
                await response.next_chunk()
            await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_nothing_listening_is_a_failure_to_reach_the_provider(run: Runner) -> None:
    async def scenario() -> None:
        async with Server(keep_answering) as server:
            url = server.url
        upstream = client(url)
        await upstream.start()
        with pytest.raises(UpstreamFailed) as caught:
            await upstream.send("POST", url, {}, b"")
        assert "127.0.0.1" not in caught.value.message
        await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_a_slow_reader_pauses_the_socket_and_still_gets_every_byte(run: Runner) -> None:
    big = bytes(range(256)) * (4 * HIGH_WATER // 256)

    async def large(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(big))
        await writer.drain()
        await read_request(reader)

    async def scenario() -> None:
        async with Server(large) as server:
            upstream = client(server.url)
            await upstream.start()
            response = await upstream.send("POST", server.url, {}, b"")
            await asyncio.sleep(0.2)  # the whole answer would be in memory by now without back-pressure
            held = sum(len(c) for c in response._chunks)
            assert held < len(big)
            assert await body_of(response) == big
            await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_an_interim_answer_is_skipped(run: Runner) -> None:
    async def early_hints(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n" + answer(b"final"))
        await writer.drain()
        await read_request(reader)

    async def scenario() -> None:
        async with Server(early_hints) as server:
            upstream = client(server.url)
            await upstream.start()
            response = await upstream.send("POST", server.url, {}, b"")
            assert (response.status, await body_of(response)) == (200, b"final")
            assert "link" not in response.headers
            await upstream.close()

    run(scenario())


@pytest.mark.parametrize("run", RUNNERS)
def test_an_abandoned_answer_takes_its_connection_with_it(run: Runner) -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:
            writer.write(b"5\r\nmore \r\n")
            await writer.drain()
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        async with Server(endless) as server:
            upstream = client(server.url)
            await upstream.start()
            async with await upstream.send("POST", server.url, {}, b"") as response:
                assert await response.next_chunk() == b"more "
            with pytest.raises(UpstreamFailed):
                await response.next_chunk()
            await upstream.send("POST", server.url, {}, b"")
            assert server.connections == 2
            await upstream.close()

    run(scenario())


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.mark.parametrize("run", RUNNERS)
def test_https_is_verified_against_the_trust_store(run: Runner, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def scenario() -> None:
        async with Server(keep_answering, tls=server_tls) as server:
            trusting = client(server.url, ssl_context=ssl.create_default_context(cafile=str(cert)))
            await trusting.start()
            assert await body_of(await trusting.send("POST", server.url, {}, b"tls")) == b"echo:tls"
            assert await body_of(await trusting.send("POST", server.url, {}, b"again")) == b"echo:again"
            assert server.connections == 1
            await trusting.close()
            default = client(server.url)  # the system's trust store does not know this certificate
            await default.start()
            with pytest.raises(UpstreamFailed):
                await default.send("POST", server.url, {}, b"")
            await default.close()

    run(scenario())


def test_the_request_head_carries_host_path_and_length() -> None:
    target = parse_target("https://user:pw@api.example.com:8443/openai/v1/chat?x=1")
    assert target.origin == ("https", "api.example.com", 8443)
    head = request_head("POST", target, {"authorization": "Bearer k"}, b"{}")
    assert head == (
        b"POST /openai/v1/chat?x=1 HTTP/1.1\r\nhost: api.example.com:8443\r\n"
        b"authorization: Bearer k\r\ncontent-length: 2\r\n\r\n"
    )
    assert parse_target("http://localhost").origin == ("http", "localhost", 80)


@pytest.mark.parametrize("value", ["a\r\nx-injected: 1", "a\nb", "é€"])
def test_a_header_that_could_split_the_request_is_refused(value: str) -> None:
    with pytest.raises(UpstreamFailed):
        request_head("GET", parse_target("http://h"), {"anthropic-version": value}, None)


@pytest.mark.parametrize("url", ["ftp://h/x", "http://", "not a url", "http://h:99999/"])
def test_only_http_urls_are_targets(url: str) -> None:
    with pytest.raises(UpstreamFailed):
        parse_target(url)
