"""AsyncioReactor: its own loop, an attached loop, timers, and Deferred <-> asyncio bridging."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from typing import Any

import pytest

from plait.defer import CancelledError, Deferred
from plait.reactor import AsyncioReactor, UVLoopReactor, reactorClassNamed

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
if importlib.util.find_spec("uvloop") is not None:
    import uvloop

    LOOPS["uvloop"] = uvloop.new_event_loop


@pytest.fixture(params=sorted(LOOPS))
def newLoop(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    """A maker of fresh loops of each kind."""
    return LOOPS[request.param]


def test_registry_names() -> None:
    """'asyncio' and 'uvloop' name the asyncio reactors."""
    assert reactorClassNamed("asyncio") is AsyncioReactor
    if "uvloop" in LOOPS:
        assert reactorClassNamed("uvloop") is UVLoopReactor


def test_run_owns_and_closes_its_loop() -> None:
    """run() runs a loop of its own until stop() and closes it afterwards."""
    reactor = AsyncioReactor()
    fired: list[str] = []
    reactor.addSystemEventTrigger("before", "shutdown", fired.append, "shutdown")
    reactor.callWhenRunning(reactor.callLater, 0.01, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert fired == ["shutdown"]
    assert reactor.loop.is_closed()


def test_uvloop_reactor_runs_on_uvloop() -> None:
    """UVLoopReactor makes a uvloop loop."""
    if "uvloop" not in LOOPS:
        pytest.skip("uvloop is not installed")
    reactor = UVLoopReactor()
    assert type(reactor.loop).__module__.startswith("uvloop")
    reactor.close()


def test_delayed_calls_keep_their_semantics(
    newLoop: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """reset, delay and cancel reorder and drop calls as on every reactor."""
    loop = newLoop()
    reactor = AsyncioReactor(loop)
    order: list[str] = []
    late = reactor.callLater(0.2, order.append, "late")
    soon = reactor.callLater(0.05, order.append, "soon")
    dropped = reactor.callLater(0.01, order.append, "dropped")
    reactor.callWhenRunning(late.reset, 0.0)  # moved before 'soon': rearms the loop timer
    soon.delay(0.05)
    dropped.cancel()
    reactor.callLater(0.3, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert order == ["late", "soon"]
    assert not loop.is_closed()  # not the reactor's to close
    loop.close()


def test_attached_to_running_loop(newLoop: Callable[[], asyncio.AbstractEventLoop]) -> None:
    """Inside a running loop: startRunning fires startup, stop fires shutdown, the loop lives on."""
    events: list[str] = []

    async def main() -> str:
        loop = asyncio.get_running_loop()
        reactor = AsyncioReactor(loop)
        reactor.addSystemEventTrigger("after", "startup", events.append, "startup")
        reactor.addSystemEventTrigger("before", "shutdown", events.append, "shutdown")
        reactor.startRunning(installSignalHandlers=False)
        d: Deferred[str] = Deferred()
        reactor.callLater(0.01, d.callback, "timer")
        result = await d.asFuture(loop)
        with pytest.raises(RuntimeError):
            reactor.run()
        reactor.stop()
        for _ in range(5):
            await asyncio.sleep(0)
        assert not loop.is_closed() and loop.is_running()
        return result

    loop = newLoop()
    try:
        assert loop.run_until_complete(main()) == "timer"
    finally:
        loop.close()
    assert events == ["startup", "shutdown"]


def test_call_from_thread_wakes_the_loop(newLoop: Callable[[], asyncio.AbstractEventLoop]) -> None:
    """callInThread + callFromThread round-trip on the asyncio loop."""
    loop = newLoop()
    reactor = AsyncioReactor(loop)
    got: list[Any] = []

    def inThread() -> None:
        reactor.callFromThread(got.append, "back")
        reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(reactor.callInThread, inThread)
    reactor.callLater(5, reactor.stop)
    reactor.run(installSignalHandlers=False)
    loop.close()
    assert got == ["back"]


def test_deferred_awaited_from_asyncio_task(
    newLoop: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """An asyncio Task awaits a Deferred through asFuture; cancelling the Task cancels it."""
    cancelled: list[Deferred[Any]] = []

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        reactor = AsyncioReactor(loop)
        reactor.startRunning(installSignalHandlers=False)
        d: Deferred[int] = Deferred()
        reactor.callLater(0, d.callback, 7)
        value = await d.asFuture(loop)
        pending: Deferred[int] = Deferred(cancelled.append)
        task = loop.create_task(_awaitFuture(pending.asFuture(loop)))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        reactor.stop()
        return value

    loop = newLoop()
    try:
        assert loop.run_until_complete(main()) == 7
    finally:
        loop.close()
    assert len(cancelled) == 1


async def _awaitFuture(f: asyncio.Future[Any]) -> Any:
    return await f


def test_coroutine_awaited_from_plait(newLoop: Callable[[], asyncio.AbstractEventLoop]) -> None:
    """plait code waits on an asyncio coroutine via fromFuture; cancelling the Deferred
    cancels the Task."""
    loop = newLoop()
    reactor = AsyncioReactor(loop)
    results: list[Any] = []
    taskHolder: list[asyncio.Task[Any]] = []

    async def work() -> str:
        await asyncio.sleep(0.01)
        return "done"

    async def forever() -> None:
        await asyncio.sleep(30)

    def start() -> None:
        Deferred.fromFuture(asyncio.ensure_future(work(), loop=loop)).addCallback(results.append)
        task = loop.create_task(forever())
        taskHolder.append(task)
        d = Deferred.fromFuture(task)
        d.addErrback(lambda f: results.append(f.check(CancelledError)))
        reactor.callLater(0.05, d.cancel)
        reactor.callLater(0.1, reactor.stop)

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    loop.close()
    assert results == [CancelledError, "done"] or results == ["done", CancelledError]
    assert taskHolder[0].cancelled()


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_plait_reactor_environment_variable(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PLAIT_REACTOR=asyncio / uvloop makes the default reactor an asyncio one on that loop."""
    from plait.app._default import _reactorFromEnvironment

    monkeypatch.setenv("PLAIT_REACTOR", name)
    reactor = _reactorFromEnvironment()
    try:
        assert isinstance(reactor, AsyncioReactor)
        assert ("uvloop" in type(reactor.loop).__module__) == (name == "uvloop")
    finally:
        reactor.close()


def test_accepted_connections_run_on_asyncio_transports(
    newLoop: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """listenTCP's connections are asyncio-transport facades; Nagle stays on by default and
    writes after loseConnection are dropped."""
    from plait.protocol import ClientFactory, Factory, Protocol
    from plait.reactor._asyncio_stream import AsyncioTCPConnection

    loop = newLoop()
    reactor = AsyncioReactor(loop)
    seen: dict[str, Any] = {}

    class Server(Protocol):
        def dataReceived(self, data: bytes) -> None:
            assert self.transport is not None
            seen["transport"] = type(self.transport)
            seen["nodelay"] = self.transport.getTcpNoDelay()  # type: ignore[attr-defined]
            self.transport.write(data)
            self.transport.loseConnection()
            self.transport.write(b"dropped")

    class Client(Protocol):
        def connectionMade(self) -> None:
            assert self.transport is not None
            self.transport.write(b"ping")

        def dataReceived(self, data: bytes) -> None:
            seen["got"] = seen.get("got", b"") + data

        def connectionLost(self, reason: Any = None) -> None:
            reactor.stop()

    port = reactor.listenTCP(0, Factory.forProtocol(Server), interface="127.0.0.1")
    reactor.connectTCP("127.0.0.1", port.getHost().port, ClientFactory.forProtocol(Client))
    reactor.callLater(5, reactor.stop)
    reactor.run(installSignalHandlers=False)
    loop.close()
    assert seen == {"transport": AsyncioTCPConnection, "nodelay": False, "got": b"ping"}
