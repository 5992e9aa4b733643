"""Static-file servers for the web.static row; run in the benchmark venv by the worker.

    python web_static.py IMPL PORT ROOT

IMPL is plait (``plait.web.static.File`` in a ``Site`` on the epoll reactor) or twisted
(``twisted.web.static.File`` on its epoll reactor); each serves the directory ROOT on
127.0.0.1:PORT with access logging off until killed. Exit status 3: not available here.
"""

from __future__ import annotations

import sys


def unavailable(why: object) -> None:
    print(f"unavailable: {why}", file=sys.stderr)
    sys.exit(3)


def plait(port: int, root: str) -> None:
    try:
        from plait.reactor import EPollReactor
        from plait.web import Site
        from plait.web.static import File
    except ImportError as e:
        unavailable(e)
    reactor = EPollReactor()
    site = Site(File(root), reactor, accessLog=False)
    reactor.listenTCP(port, site, backlog=511, interface="127.0.0.1")
    reactor.run()


def twisted(port: int, root: str) -> None:
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import reactor
    from twisted.web import server, static

    site = server.Site(static.File(root))
    site.log = lambda request: None  # no access log, as for the others
    reactor.listenTCP(port, site, backlog=511, interface="127.0.0.1")
    reactor.run()


def main() -> None:
    impl, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if impl == "plait":
        plait(port, root)
    elif impl == "twisted":
        twisted(port, root)
    else:
        unavailable(f"unknown implementation {impl}")


if __name__ == "__main__":
    main()
