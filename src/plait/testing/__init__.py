"""Testing plait code (and code built on plait) without real time, sockets or a reactor.

Fake time
    :class:`Clock` is an ``IReactorTime`` whose time starts at 0 and moves only when the test
    calls ``clock.advance(seconds)`` (or ``clock.pump([s1, s2, ...])``). Every call that is due
    then runs, in time order, ties in scheduling order; calls scheduled with delay 0 by a
    running call run in the same ``advance``. An exception from a call propagates out of
    ``advance``. ``seconds()``, ``callLater``, ``getDelayedCalls()``, ``rightNow`` and
    ``calls`` are as in Twisted::

        clock = Clock()
        d = plait.task.deferLater(clock, 5, lambda: "done")
        clock.advance(5)
        assert successResultOf(d) == "done"

Fake transports
    :class:`StringTransport` keeps what a protocol writes (``value()``, ``clear()``) and
    records requests: ``loseConnection()`` sets ``disconnecting``, ``abortConnection()`` also
    ``aborted``, ``loseWriteConnection()`` sets ``writeConnectionLost``;
    ``registerProducer``/``unregisterProducer`` set ``producer`` and ``streaming``; the
    transport's own ``pauseProducing``/``resumeProducing``/``stopProducing`` record
    ``producerState``. Writing anything but bytes raises ``TypeError``. ``getHost()`` and
    ``getPeer()`` return ``IPv4Address('TCP', '10.0.0.1', 12345)`` and
    ``IPv4Address('TCP', '192.168.1.1', 54321)`` unless given others.
    :class:`StringTransportWithDisconnection` (set its ``protocol``) calls
    ``protocol.connectionLost`` with ``ConnectionDone`` when ``loseConnection`` is called::

        proto = Echo()
        transport = StringTransport()
        proto.makeConnection(transport)
        proto.dataReceived(b"hi")
        assert transport.value() == b"hi"

Connected pairs
    :func:`connect` joins a server and a client protocol through two in-memory
    :class:`FakeTransport` objects and returns an :class:`IOPump`; ``pump.pump()`` delivers
    what each side wrote once, ``pump.flush()`` until nothing moves. ``loseConnection`` closes
    (both sides get ``ConnectionDone``) once written data is delivered;
    ``abortConnection`` drops it (``ConnectionAborted`` here, ``ConnectionLost`` there);
    ``loseWriteConnection`` half-closes (the peer's ``readConnectionLost`` if it has one).
    Producers registered on the transports are paused, resumed and asked for more as the data
    flows. :func:`connectedServerAndClient` builds both protocols and returns
    ``(client, server, pump)``.

A reactor that only takes notes
    :class:`MemoryReactor` records ``listenTCP``, ``connectTCP``, ``listenSSL``,
    ``connectSSL``, ``listenUNIX``, ``connectUNIX``, ``listenUDP``, ``adoptStreamPort`` (...)
    calls in lists (``tcpServers``, ``tcpClients``, ``sslServers``...) and returns
    :class:`FakePort`/:class:`FakeConnector` objects; it makes no connection. ``run()`` fires
    the ``startup`` triggers and ``callWhenRunning`` hooks, then stops (firing ``shutdown``).
    :class:`MemoryReactorClock` is also a :class:`Clock`.

Deferred assertions
    :func:`successResultOf` returns a fired Deferred's result, :func:`failureResultOf` its
    Failure (optionally of given exception types), :func:`assertNoResult` checks it has not
    fired. Each raises ``AssertionError`` with a clear message otherwise, and consumes the
    result, so a failure it reports is not logged again as unhandled.

The pytest plugin (loaded automatically when plait is installed)
    - fixtures ``clock`` (a fresh :class:`Clock`) and ``memory_reactor`` (a fresh
      :class:`MemoryReactorClock`);
    - a test may return a Deferred: it must have fired by the time the test returns (a failure
      fails the test; an unfired Deferred is an error, as there is no reactor to wait on);
    - a test may be ``async def``: it runs through ``ensureDeferred`` inside a fresh asyncio
      loop, so it can await Deferreds and asyncio futures alike; the ini option and marker
      ``plait_timeout`` (default 30 seconds) bound how long it may wait. ``async def`` tests
      claimed by another plugin (an ``asyncio``, ``anyio`` or ``trio`` marker) are left to it;
    - a failure logged through ``plait.log`` at level error or critical during a test (for
      example a Deferred garbage-collected with an unhandled failure) fails the test unless
      the test calls :func:`flushLoggedErrors` for it (optionally naming the exception types);
      that returns the flushed failures. Garbage is collected at teardown so dropped Deferreds
      are seen.

Errors: the fakes raise ``TypeError`` for non-bytes writes and ``RuntimeError`` for misuse
(registering a second producer, resuming a stopped producer, ``flushLoggedErrors`` outside a
test, an ``IOPump.flush`` or ``Clock.advance`` that never settles); the assertions raise
``AssertionError``.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._clock import Clock
    from ._iosim import FakeTransport, IOPump, connect, connectedServerAndClient
    from ._logged import flushLoggedErrors
    from ._memory import FakeConnector, FakePort, MemoryReactor, MemoryReactorClock
    from ._results import assertNoResult, failureResultOf, successResultOf
    from ._transport import StringTransport, StringTransportWithDisconnection

# Names are imported on first use: the pytest plugin (a submodule, loaded by every pytest run
# where plait is installed) must not drag the reactor and friends in at start-up.
_WHERE = {
    "Clock": "_clock",
    "FakeConnector": "_memory",
    "FakePort": "_memory",
    "FakeTransport": "_iosim",
    "IOPump": "_iosim",
    "MemoryReactor": "_memory",
    "MemoryReactorClock": "_memory",
    "StringTransport": "_transport",
    "StringTransportWithDisconnection": "_transport",
    "assertNoResult": "_results",
    "connect": "_iosim",
    "connectedServerAndClient": "_iosim",
    "failureResultOf": "_results",
    "flushLoggedErrors": "_logged",
    "successResultOf": "_results",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'plait.testing' has no attribute {name!r}")
    import importlib

    # Not cached here: the submodule in sys.modules stays the single source (pytester's
    # in-process runs may drop and re-import submodules).
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "Clock",
    "FakeConnector",
    "FakePort",
    "FakeTransport",
    "IOPump",
    "MemoryReactor",
    "MemoryReactorClock",
    "StringTransport",
    "StringTransportWithDisconnection",
    "assertNoResult",
    "connect",
    "connectedServerAndClient",
    "failureResultOf",
    "flushLoggedErrors",
    "successResultOf",
]
