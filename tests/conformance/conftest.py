"""The transport conformance suite's fixtures: every backend x every transport kind.

Extend the suite by adding to the two registries:

- ``REACTOR_BACKENDS``: name -> a zero-argument callable making a fresh, never-run reactor.
  It needs ``run(installSignalHandlers=False)``, ``stop``, ``running``, ``callWhenRunning``,
  ``callLater``, ``callFromThread``, the ``IReactorTCP``/``IReactorUNIX``/``IReactorSocket``
  methods and ``installNameResolver``; ``close()`` (if it has one) runs after the test. A
  backend limited like select() to descriptors below FD_SETSIZE is named ``"select"``.
- ``TRANSPORT_KINDS``: name -> a ``TransportKind`` (how to listen, how to connect, whether it
  is available here).

Every test runs its reactor with ``runUntil`` until a Deferred fires, under a hard timeout that
fails the test instead of hanging it.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plait.defer import Deferred, Failure
from plait.reactor import reactorClassNamed, reactorNames

from ..reactor.xvfb import gtkReactorForTests, qtReactorForTests, tkReactorForTests
from ._tls import TLS

HARD_TIMEOUT = 10.0

REACTOR_BACKENDS: dict[str, Callable[[], Any]] = {
    name: reactorClassNamed(name) for name in ("select", "poll", "epoll") if name in reactorNames()
}
REACTOR_BACKENDS["asyncio"] = reactorClassNamed("asyncio")
if importlib.util.find_spec("uvloop") is not None:
    REACTOR_BACKENDS["uvloop"] = reactorClassNamed("uvloop")
# GUI loops: each factory skips (with the reason) where its toolkit or Xvfb is missing.
REACTOR_BACKENDS["tk"] = tkReactorForTests
REACTOR_BACKENDS["qt"] = qtReactorForTests
REACTOR_BACKENDS["gtk"] = gtkReactorForTests


class RunTimedOut(AssertionError):
    """The Deferred the test waited for did not fire within the hard timeout."""


def runUntil(reactor: Any, d: Deferred[Any], timeout: float = HARD_TIMEOUT) -> Any:
    """Run ``reactor`` until ``d`` fires; return its result, raise its failure, or time out."""
    outcome: list[Any] = []
    stopping: list[bool] = []
    timedOut: list[bool] = []

    def stop() -> None:
        if not stopping and reactor.running:
            stopping.append(True)
            reactor.stop()

    def done(result: object) -> None:
        outcome.append(result)
        stop()
        return None

    def guard() -> None:
        timedOut.append(True)
        stop()

    reactor.callWhenRunning(d.addBoth, done)
    call = reactor.callLater(timeout, guard)
    reactor.run(installSignalHandlers=False)
    if call.active():
        call.cancel()
    if timedOut or not outcome:
        raise RunTimedOut(f"nothing happened within {timeout}s")
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


def ipv6Available() -> bool:
    """Whether ``::1`` can be bound here."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


class TransportKind:
    """How a kind of stream transport listens and connects in the suite."""

    name = "?"
    family = socket.AF_INET

    def skipReason(self) -> str | None:
        """Why the kind cannot run here (None: it can)."""
        return None

    def listen(self, reactor: Any, factory: Any, backlog: int = 50) -> Any:
        raise NotImplementedError

    def connect(self, reactor: Any, port: Any, factory: Any, timeout: float = 5) -> Any:
        raise NotImplementedError


class TCP4(TransportKind):
    name = "tcp4"

    def listen(self, reactor: Any, factory: Any, backlog: int = 50) -> Any:
        return reactor.listenTCP(0, factory, backlog=backlog, interface="127.0.0.1")

    def connect(self, reactor: Any, port: Any, factory: Any, timeout: float = 5) -> Any:
        return reactor.connectTCP("127.0.0.1", port.getHost().port, factory, timeout=timeout)


class TCP6(TransportKind):
    name = "tcp6"
    family = socket.AF_INET6

    def skipReason(self) -> str | None:
        return None if ipv6Available() else "IPv6 (::1) is not available on this machine"

    def listen(self, reactor: Any, factory: Any, backlog: int = 50) -> Any:
        return reactor.listenTCP(0, factory, backlog=backlog, interface="::1")

    def connect(self, reactor: Any, port: Any, factory: Any, timeout: float = 5) -> Any:
        return reactor.connectTCP("::1", port.getHost().port, factory, timeout=timeout)


class UNIX(TransportKind):
    name = "unix"
    family = socket.AF_UNIX

    def __init__(self) -> None:
        self.counter = 0
        self.directory: str | None = None

    def path(self) -> str:
        if self.directory is None:
            # Short: sun_path holds ~107 bytes, pytest's tmp_path can be longer.
            self.directory = tempfile.mkdtemp(prefix="plait-", dir="/tmp")
        self.counter += 1
        return os.path.join(self.directory, f"s{self.counter}")

    def cleanup(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def listen(self, reactor: Any, factory: Any, backlog: int = 50) -> Any:
        return reactor.listenUNIX(self.path(), factory, backlog=backlog)

    def connect(self, reactor: Any, port: Any, factory: Any, timeout: float = 5) -> Any:
        return reactor.connectUNIX(port.getHost().name, factory, timeout=timeout)


TRANSPORT_KINDS: dict[str, Callable[[], TransportKind]] = {
    "tcp4": TCP4,
    "tcp6": TCP6,
    "unix": UNIX,
    "tls": TLS,  # type: ignore[dict-item]
}


@pytest.fixture(params=sorted(REACTOR_BACKENDS))
def reactor(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh reactor of each backend; closed afterwards."""
    r = REACTOR_BACKENDS[request.param]()
    r.backendName = request.param
    yield r
    if getattr(r, "_started", False):  # a test that failed mid-run
        r.crash()
        r._started = False
    close = getattr(r, "close", None)
    if close is not None:
        close()


@pytest.fixture(params=list(TRANSPORT_KINDS))
def kind(request: pytest.FixtureRequest) -> Iterator[TransportKind]:
    """Each transport kind (skipped where unavailable)."""
    k = TRANSPORT_KINDS[request.param]()
    reason = k.skipReason()
    if reason is not None:
        pytest.skip(reason)
    yield k
    cleanup = getattr(k, "cleanup", None)
    if cleanup is not None:
        cleanup()


@pytest.fixture
def unixKind() -> Iterator[UNIX]:
    """The Unix kind alone, for the Unix-only tests."""
    k = UNIX()
    yield k
    k.cleanup()


@pytest.fixture
def manyFiles() -> Iterator[int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit for the test; yields the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    yield target
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
