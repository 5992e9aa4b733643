"""HTTP "Hello, world!" servers for the web row; run in the benchmark venv by the worker.

    python web_hello.py IMPL PORT

IMPL is plait-epoll, plait-uvloop, twisted, aiohttp or httptools. Each answers every GET with
the 13-byte body ``Hello, world!`` through its framework's ordinary resource/handler API (access
logging off everywhere), on 127.0.0.1:PORT until killed; httptools is the floor under any Python
framework: a bare uvloop protocol around the llhttp parser writing one canned response. Exit
status 3: not available here.
"""

from __future__ import annotations

import sys

BODY = b"Hello, world!"


def unavailable(why: object) -> None:
    print(f"unavailable: {why}", file=sys.stderr)
    sys.exit(3)


def plait(backend: str, port: int) -> None:
    try:
        from plait import reactor as reactors
        from plait.web import Resource, Site
    except ImportError as e:
        unavailable(e)
    name = {"epoll": "EPollReactor", "uvloop": "UVLoopReactor"}[backend]
    reactorClass = getattr(reactors, name, None)
    if reactorClass is None:
        unavailable(f"plait.reactor has no {name}")

    class Hello(Resource):  # type: ignore[misc]
        isLeaf = True

        def render_GET(self, request: object) -> bytes:
            return BODY

    try:
        reactor = reactorClass()
    except Exception as e:  # uvloop missing
        unavailable(e)
    reactor.listenTCP(
        port, Site(Hello(), reactor, accessLog=False), backlog=511, interface="127.0.0.1"
    )
    reactor.run()


def twisted(port: int) -> None:
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import reactor
    from twisted.web import resource, server

    class Hello(resource.Resource):
        isLeaf = True

        def render_GET(self, request: object) -> bytes:
            return BODY

    site = server.Site(Hello())
    site.log = lambda request: None  # no access log, as for the others
    reactor.listenTCP(port, site, backlog=511, interface="127.0.0.1")
    reactor.run()


def aiohttp(port: int) -> None:
    try:
        import uvloop
        from aiohttp import web
    except ImportError as e:
        unavailable(e)

    async def hello(request: object) -> web.Response:
        return web.Response(body=BODY)

    app = web.Application()
    app.router.add_get("/", hello)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=511)


RAW_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


def rawHttptools(port: int) -> None:
    try:
        import asyncio
        import socket

        import httptools
        import uvloop
    except ImportError as e:
        unavailable(e)

    class Hello(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_message_complete(self) -> None:
            self.transport.write(RAW_RESPONSE)
            if not self.parser.should_keep_alive():
                self.transport.close()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Hello, "127.0.0.1", port, backlog=511)
        await server.serve_forever()

    uvloop.run(serve())


def main() -> None:
    impl, port = sys.argv[1], int(sys.argv[2])
    if impl.startswith("plait-"):
        plait(impl.removeprefix("plait-"), port)
    elif impl == "twisted":
        twisted(port)
    elif impl == "aiohttp":
        aiohttp(port)
    elif impl == "httptools":
        rawHttptools(port)
    else:
        unavailable(f"unknown implementation {impl}")


if __name__ == "__main__":
    main()
