"""UDP echo servers for the benchmark rows; run in the benchmark venv by the worker.

    python udp_echo.py IMPL PORT

IMPL is one of plait-epoll, plait-poll, plait-select, twisted, asyncio, uvloop. Each binds
127.0.0.1:PORT/udp and sends every datagram back to its sender through the framework's ordinary
datagram API, until killed. Exit status 3 means the implementation is not available here.
"""

from __future__ import annotations

import sys


def plait(backend: str, port: int) -> None:
    try:
        from plait.protocol import DatagramProtocol
        from plait.reactor import reactorClassNamed
    except ImportError as e:
        print(f"unavailable: {e}", file=sys.stderr)
        sys.exit(3)
    reactor = reactorClassNamed(backend)()
    if not hasattr(reactor, "listenUDP"):
        print("unavailable: this plait has no listenUDP", file=sys.stderr)
        sys.exit(3)

    class Echo(DatagramProtocol):  # type: ignore[misc]
        def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
            self.transport.write(datagram, addr)

    reactor.listenUDP(port, Echo(), interface="127.0.0.1")
    reactor.run()


def twisted(port: int) -> None:
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import protocol, reactor

    class Echo(protocol.DatagramProtocol):
        def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
            self.transport.write(datagram, addr)

    reactor.listenUDP(port, Echo(), interface="127.0.0.1")
    reactor.run()


def asyncioServer(port: int, useUvloop: bool) -> None:
    import asyncio

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(data, addr)  # type: ignore[attr-defined]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", port))
        await asyncio.Event().wait()

    if useUvloop:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    else:
        asyncio.run(main())


def main() -> None:
    impl, port = sys.argv[1], int(sys.argv[2])
    if impl.startswith("plait-"):
        plait(impl.removeprefix("plait-"), port)
    elif impl == "twisted":
        twisted(port)
    elif impl in ("asyncio", "uvloop"):
        asyncioServer(port, impl == "uvloop")
    else:
        raise SystemExit(f"unknown implementation {impl!r}")


if __name__ == "__main__":
    main()
