"""TLS throughput and handshake rate: plait vs asyncio's sslproto (not a test; run by hand).

    python3 tests/tls/bench_tls.py [--mib 64] [--handshakes 300] [--reactor epoll]

Both ends run in one process on 127.0.0.1 (so the numbers are the CPU cost of both sides),
with the same certificate (EC P-256), TLS 1.3, default ciphers (AES-256-GCM on x86).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plait.defer import Deferred
from plait.protocol import ClientFactory, Factory, Protocol
from plait.reactor import reactorClassNamed
from plait.tls import clientOptions, serverOptions
from tls.certs import CA

CHUNK = 64 * 1024


def contexts() -> tuple[Any, Any]:
    ca = CA()
    leaf = ca.issue("localhost")
    return serverOptions(leaf.certPEM, leaf.keyPEM), clientOptions("localhost", ca.certPEM)


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]


class BulkClient(Protocol):
    """Writes ``total`` bytes (as a pull of 64 KiB chunks), waits for them all back."""

    def connectionMade(self) -> None:
        self.sent = self.got = 0
        self.total: int = self.factory.total  # type: ignore[attr-defined]
        self.payload = b"x" * CHUNK
        self.transport.registerProducer(self, True)  # type: ignore[union-attr]
        self.paused = False
        self.resumeProducing()

    def resumeProducing(self) -> None:
        self.paused = False
        t: Any = self.transport
        while not self.paused and self.sent < self.total:
            t.write(self.payload)
            self.sent += CHUNK
        if self.sent >= self.total:
            t.unregisterProducer()

    def pauseProducing(self) -> None:
        self.paused = True

    def stopProducing(self) -> None:
        self.paused = True

    def dataReceived(self, data: bytes) -> None:
        self.got += len(data)
        if self.got >= self.total:
            self.factory.done.callback(None)  # type: ignore[attr-defined]
            self.transport.loseConnection()  # type: ignore[union-attr]


class Pinger(Protocol):
    def connectionMade(self) -> None:
        self.transport.write(b"!")  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.next()  # type: ignore[attr-defined]


def plaitBulk(reactorName: str, mib: int) -> float:
    server, client = contexts()
    reactor = reactorClassNamed(reactorName)()
    port = reactor.listenSSL(0, Factory.forProtocol(Echo), server, interface="127.0.0.1")
    f = ClientFactory.forProtocol(BulkClient)
    f.total = mib << 20  # type: ignore[attr-defined]
    f.done = Deferred()  # type: ignore[attr-defined]
    f.done.addCallback(lambda _: reactor.stop())  # type: ignore[attr-defined]
    start = time.perf_counter()
    reactor.connectSSL("127.0.0.1", port.getHost().port, f, client)
    reactor.run(installSignalHandlers=False)
    return mib / (time.perf_counter() - start)


def plaitHandshakes(reactorName: str, count: int) -> float:
    server, client = contexts()
    reactor = reactorClassNamed(reactorName)()
    port = reactor.listenSSL(0, Factory.forProtocol(Echo), server, interface="127.0.0.1")
    f = ClientFactory.forProtocol(Pinger)
    left = [count]

    def nextOne() -> None:
        if left[0] == 0:
            reactor.stop()
            return
        left[0] -= 1
        reactor.connectSSL("127.0.0.1", port.getHost().port, f, client)

    f.next = lambda: reactor.callLater(0, nextOne)  # type: ignore[attr-defined]
    start = time.perf_counter()
    reactor.callWhenRunning(nextOne)
    reactor.run(installSignalHandlers=False)
    return count / (time.perf_counter() - start)


async def _asyncioEcho(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    while data := await r.read(CHUNK):
        w.write(data)
        await w.drain()
    w.close()


def asyncioBulk(mib: int) -> float:
    server, client = contexts()

    async def main() -> float:
        srv = await asyncio.start_server(_asyncioEcho, "127.0.0.1", 0, ssl=server.getContext())
        portNumber = srv.sockets[0].getsockname()[1]
        start = time.perf_counter()
        r, w = await asyncio.open_connection(
            "127.0.0.1", portNumber, ssl=client.getContext(), server_hostname="localhost"
        )
        total = mib << 20
        payload = b"x" * CHUNK

        async def send() -> None:
            for _ in range(total // CHUNK):
                w.write(payload)
                await w.drain()

        sender = asyncio.ensure_future(send())
        got = 0
        while got < total:
            got += len(await r.read(1 << 20))
        await sender
        elapsed = time.perf_counter() - start
        w.close()
        await w.wait_closed()
        await asyncio.sleep(0.05)  # let the server's echo task see the end
        srv.close()
        await srv.wait_closed()
        return mib / elapsed

    return asyncio.run(main())


def asyncioHandshakes(count: int) -> float:
    server, client = contexts()

    async def main() -> float:
        srv = await asyncio.start_server(_asyncioEcho, "127.0.0.1", 0, ssl=server.getContext())
        portNumber = srv.sockets[0].getsockname()[1]
        start = time.perf_counter()
        for _ in range(count):
            r, w = await asyncio.open_connection(
                "127.0.0.1", portNumber, ssl=client.getContext(), server_hostname="localhost"
            )
            w.write(b"!")
            await r.read(1)
            w.close()
            await w.wait_closed()
        elapsed = time.perf_counter() - start
        srv.close()
        return count / elapsed

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--handshakes", type=int, default=300)
    parser.add_argument("--reactor", default="epoll")
    parser.add_argument("--rounds", type=int, default=3)
    a = parser.parse_args()
    rows = {
        "plait bulk echo MiB/s": lambda: plaitBulk(a.reactor, a.mib),
        "asyncio bulk echo MiB/s": lambda: asyncioBulk(a.mib),
        "plait handshakes/s": lambda: plaitHandshakes(a.reactor, a.handshakes),
        "asyncio handshakes/s": lambda: asyncioHandshakes(a.handshakes),
    }
    for name, fn in rows.items():
        best = max(fn() for _ in range(a.rounds))
        print(f"{name:28s} {best:8.1f}")


if __name__ == "__main__":
    main()
