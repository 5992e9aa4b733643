"""TCP echo servers for the benchmark rows; run in the benchmark venv by the worker.

    python echo.py IMPL PORT [BACKLOG]

IMPL is one of plait-epoll, plait-poll, plait-select, plait-asyncio, plait-uvloop, twisted,
twisted-asyncio, asyncio, uvloop. Each listens on
127.0.0.1:PORT and writes back whatever it reads, through the framework's ordinary Protocol API,
until killed. Exit status 3 means the implementation is not available here.
"""

from __future__ import annotations

import resource
import sys


def _raiseFileLimit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def plait(backend: str, port: int, backlog: int) -> None:
    try:
        from plait import reactor as reactors
        from plait.protocol import Factory, Protocol
    except ImportError as e:
        print(f"unavailable: {e}", file=sys.stderr)
        sys.exit(3)
    name = {
        "epoll": "EPollReactor",
        "poll": "PollReactor",
        "select": "SelectReactor",
        "asyncio": "AsyncioReactor",
        "uvloop": "UVLoopReactor",
    }[backend]
    reactorClass = getattr(reactors, name, None)
    if reactorClass is None or not hasattr(Factory, "forProtocol"):
        print(f"unavailable: plait.reactor has no {name}", file=sys.stderr)
        sys.exit(3)

    class Echo(Protocol):  # type: ignore[misc]
        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)

    reactor = reactorClass()
    reactor.listenTCP(port, Factory.forProtocol(Echo), backlog=backlog, interface="127.0.0.1")
    reactor.run()


def twisted(port: int, backlog: int, onAsyncio: bool = False) -> None:
    if onAsyncio:
        from twisted.internet import asyncioreactor

        asyncioreactor.install()
    else:
        from twisted.internet import epollreactor

        epollreactor.install()
    from twisted.internet import protocol, reactor

    class Echo(protocol.Protocol):
        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)

    reactor.listenTCP(port, protocol.Factory.forProtocol(Echo), backlog, "127.0.0.1")
    reactor.run()


def asyncioServer(port: int, backlog: int, useUvloop: bool) -> None:
    import asyncio

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)  # type: ignore[attr-defined]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", port, backlog=backlog)
        async with server:
            await server.serve_forever()

    if useUvloop:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    else:
        asyncio.run(main())


def main() -> None:
    impl, port = sys.argv[1], int(sys.argv[2])
    backlog = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    _raiseFileLimit()
    if impl.startswith("plait-"):
        plait(impl.removeprefix("plait-"), port, backlog)
    elif impl in ("twisted", "twisted-asyncio"):
        twisted(port, backlog, impl == "twisted-asyncio")
    elif impl in ("asyncio", "uvloop"):
        asyncioServer(port, backlog, impl == "uvloop")
    else:
        raise SystemExit(f"unknown implementation {impl!r}")


if __name__ == "__main__":
    main()
