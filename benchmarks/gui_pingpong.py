"""TCP ping-pong over one loopback connection: the GUI reactors (Tk, Qt, GTK) vs epoll.

One client and one echo server in the same reactor exchange a 64-byte message back and forth
``--count`` times; the row is round trips per second (best and median of ``--repeat`` runs).
Tk runs on a private Xvfb (started here), Qt on a ``QCoreApplication``, GTK on GLib's loop.
``tk``/``qt``/``gtk``: the default on Linux (one epoll set behind one toolkit watcher);
``-perfd``: a toolkit watcher per descriptor (the portable mode). Answers the paper's claim
that Twisted runs inside a GUI loop "with no performance impact". Reference (2 vCPUs):
epoll 1.00, tk 0.92, qt 0.91, gtk 0.95; tk-perfd 0.11, qt-perfd 0.64, gtk-perfd 0.58.

    python3 benchmarks/gui_pingpong.py [--count 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plait.protocol import ClientFactory, Factory, Protocol
from plait.reactor import reactorClassNamed

MESSAGE = b"x" * 64


class _Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class _Pinger(Protocol):
    def connectionMade(self) -> None:
        self.left = self.factory.count
        self.pending = 0
        self.factory.started = time.perf_counter()
        assert self.transport is not None
        self.transport.write(MESSAGE)

    def dataReceived(self, data: bytes) -> None:
        self.pending += len(data)
        if self.pending < len(MESSAGE):
            return
        self.pending = 0
        self.left -= 1
        assert self.transport is not None
        if self.left:
            self.transport.write(MESSAGE)
        else:
            self.factory.elapsed = time.perf_counter() - self.factory.started
            self.factory.reactor.stop()


def pingPong(makeReactor: Callable[[], Any], count: int) -> float:
    """Round trips per second over one connection."""
    reactor = makeReactor()
    port = reactor.listenTCP(0, Factory.forProtocol(_Echo), interface="127.0.0.1")
    factory = ClientFactory.forProtocol(_Pinger)
    factory.count = count  # type: ignore[attr-defined]
    factory.reactor = reactor  # type: ignore[attr-defined]
    reactor.connectTCP("127.0.0.1", port.getHost().port, factory)
    guard = reactor.callLater(120, reactor.stop)
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    return count / factory.elapsed  # type: ignore[attr-defined,no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from reactor.xvfb import xvfbDisplay

    with xvfbDisplay() as display:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        tk, qt = reactorClassNamed("tk"), reactorClassNamed("qt")
        # The portable mode: a toolkit watcher per descriptor instead of one epoll set.
        tkPerFd = type("TkPerFd", (tk,), {"nestEpoll": False})
        qtPerFd = type("QtPerFd", (qt,), {"nestEpoll": False})
        gtk = reactorClassNamed("gtk")
        gtkPerFd = type("GtkPerFd", (gtk,), {"nestEpoll": False})
        makers: dict[str, Callable[[], Any]] = {
            "epoll": reactorClassNamed("epoll"),
            "tk": lambda: tk(screenName=display),  # type: ignore[call-arg]
            "tk-perfd": lambda: tkPerFd(screenName=display),
            "qt": qt,
            "qt-perfd": qtPerFd,
            "gtk": gtk,
            "gtk-perfd": gtkPerFd,
        }
        results: dict[str, list[float]] = {name: [] for name in makers}
        for _ in range(args.repeat):
            for name, make in makers.items():
                results[name].append(pingPong(make, args.count))
    base = statistics.median(results["epoll"])
    print(f"TCP ping-pong, 1 connection, {len(MESSAGE)}-byte messages, {args.count} round trips")
    print(f"{'reactor':9} {'best/s':>10} {'median/s':>10} {'vs epoll':>9}")
    for name, rates in results.items():
        median = statistics.median(rates)
        print(f"{name:9} {max(rates):10.0f} {median:10.0f} {median / base:9.2f}")


if __name__ == "__main__":
    main()
