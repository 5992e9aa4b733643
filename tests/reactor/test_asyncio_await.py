"""A bare ``await d`` on a Deferred inside asyncio Tasks, on asyncio's and uvloop's loops."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from plait.defer import CancelledError, Deferred, ensureDeferred
from plait.reactor import AsyncioReactor

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
if importlib.util.find_spec("uvloop") is not None:
    import uvloop

    LOOPS["uvloop"] = uvloop.new_event_loop


@pytest.fixture(params=sorted(LOOPS))
def runMain(request: pytest.FixtureRequest) -> Callable[[Any], Any]:
    """Run a coroutine to completion on a fresh loop of each kind (closed afterwards)."""

    def run(coro: Any) -> Any:
        loop = LOOPS[request.param]()
        try:
            return loop.run_until_complete(asyncio.wait_for(coro, 5))
        finally:
            loop.close()

    return run


def attachedReactor() -> AsyncioReactor:
    """An AsyncioReactor attached to the running loop and started."""
    reactor = AsyncioReactor(asyncio.get_running_loop())
    reactor.startRunning(installSignalHandlers=False)
    return reactor


def test_await_result_fired_by_the_reactor(runMain: Callable[[Any], Any]) -> None:
    """``await d`` in an asyncio Task returns the value a reactor timer fires it with."""

    async def main() -> tuple[int, int]:
        reactor = attachedReactor()
        d: Deferred[int] = Deferred()
        reactor.callLater(0.01, d.callback, 7)
        fired: Deferred[int] = Deferred()
        fired.callback(8)
        try:
            return await d, await fired
        finally:
            reactor.stop()

    assert runMain(main()) == (7, 8)


def test_await_raises_the_failure(runMain: Callable[[Any], Any]) -> None:
    """A failed Deferred raises its own exception (with its traceback) in the Task."""

    async def main() -> str:
        reactor = attachedReactor()
        d: Deferred[int] = Deferred()
        reactor.callLater(0, d.errback, ValueError("bad"))
        try:
            await d
        except ValueError as e:
            return str(e)
        finally:
            reactor.stop()
        return "no error"

    assert runMain(main()) == "bad"


def test_cancelling_the_task_cancels_the_deferred(runMain: Callable[[Any], Any]) -> None:
    """Task.cancel() runs the Deferred's canceller; the Task ends cancelled."""
    cancelled: list[Deferred[int]] = []
    pending: Deferred[int] = Deferred(cancelled.append)

    async def waiter() -> int:
        return await pending

    async def main() -> bool:
        task = asyncio.ensure_future(waiter())
        await asyncio.sleep(0)
        task.cancel("enough")
        try:
            await task
        except asyncio.CancelledError:
            pass
        return task.cancelled()

    assert runMain(main()) is True
    assert cancelled == [pending]


def test_cancelled_deferred_raises_asyncio_cancelled_error(
    runMain: Callable[[Any], Any],
) -> None:
    """A Deferred cancelled on plait's side raises asyncio.CancelledError in the Task."""

    async def main() -> type[BaseException] | None:
        d: Deferred[int] = Deferred()
        asyncio.get_running_loop().call_soon(d.cancel)
        try:
            await d
        except asyncio.CancelledError as e:
            assert isinstance(e.__cause__, CancelledError)
            return type(e)
        return None

    assert runMain(main()) is asyncio.CancelledError


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is 3.11+")
def test_asyncio_timeout_cancels_an_awaited_deferred(runMain: Callable[[Any], Any]) -> None:
    """asyncio.timeout around ``await d`` cancels the Deferred and raises TimeoutError."""
    cancelled: list[Deferred[int]] = []

    async def main() -> bool:
        try:
            async with asyncio.timeout(0.01):
                await Deferred(cancelled.append)
        except TimeoutError:
            return True
        return False

    assert runMain(main()) is True
    assert len(cancelled) == 1


def test_gather_and_taskgroup_take_deferreds(runMain: Callable[[Any], Any]) -> None:
    """asyncio.gather and TaskGroup accept Deferreds (and coroutines awaiting them)."""

    async def twice(d: Deferred[int]) -> int:
        return 2 * await d

    async def main() -> list[int]:
        reactor = attachedReactor()
        ds: list[Deferred[int]] = [Deferred() for _ in range(3)]
        for i, d in enumerate(ds):
            reactor.callLater(0.001 * (3 - i), d.callback, i)
        gathered = await asyncio.gather(ds[0], twice(ds[1]))
        async with asyncio.TaskGroup() as group:
            task = group.create_task(twice(ds[2]))
        reactor.stop()
        return [*gathered, task.result()]

    assert runMain(main()) == [0, 2, 4]


def test_plait_coroutine_inside_a_task(runMain: Callable[[Any], Any]) -> None:
    """A coroutine run by ensureDeferred, awaited from a Task, awaits Deferreds and asyncio
    sleeps."""

    async def plaitSide(d: Deferred[int]) -> int:
        await asyncio.sleep(0)
        return await d + 1

    async def main() -> int:
        reactor = attachedReactor()
        d: Deferred[int] = Deferred()
        reactor.callLater(0.001, d.callback, 41)
        try:
            return await ensureDeferred(plaitSide(d))
        finally:
            reactor.stop()

    assert runMain(main()) == 42


def test_asyncio_run_main_awaits_deferreds() -> None:
    """The plain ``asyncio.run(main())`` shape: main awaits Deferreds from a reactor on the
    running loop."""

    async def main() -> str:
        reactor = attachedReactor()
        d: Deferred[str] = Deferred()
        reactor.callLater(0.001, d.callback, "ok")
        try:
            return await d
        finally:
            reactor.stop()

    assert asyncio.run(main()) == "ok"


def test_wait_for_times_out_and_cancels(runMain: Callable[[Any], Any]) -> None:
    """asyncio.wait_for on a Deferred cancels it when the time is up."""
    cancelled: list[Deferred[int]] = []

    async def main() -> bool:
        try:
            await asyncio.wait_for(Deferred(cancelled.append), 0.01)
        except TimeoutError:
            return True
        return False

    assert runMain(main()) is True
    assert len(cancelled) == 1


def test_deferred_fired_from_a_thread_wakes_the_task(runMain: Callable[[Any], Any]) -> None:
    """A Deferred fired on another thread (a reactor running there) still resumes the Task."""

    async def main() -> str:
        d: Deferred[str] = Deferred()
        thread = threading.Timer(0.01, d.callback, args=("from a thread",))
        thread.start()
        try:
            return await d
        finally:
            thread.join(5)

    assert runMain(main()) == "from a thread"


def test_plait_tcp_inside_asyncio_run(runMain: Callable[[Any], Any]) -> None:
    """Inside a running asyncio program: a plait echo server and client on asyncio transports,
    the result awaited as a Deferred; stop() releases them and leaves the loop running."""
    from plait.protocol import ClientFactory, Factory, Protocol

    class Echo(Protocol):
        def dataReceived(self, data: bytes) -> None:
            assert self.transport is not None
            self.transport.write(data)

    class Client(Protocol):
        def connectionMade(self) -> None:
            assert self.transport is not None
            self.transport.write(b"round trip")

        def dataReceived(self, data: bytes) -> None:
            got.callback(data)

    got: Deferred[bytes] = Deferred()

    async def main() -> tuple[bytes, bool]:
        reactor = attachedReactor()
        port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
        reactor.connectTCP("127.0.0.1", port.getHost().port, ClientFactory.forProtocol(Client))
        data = await got
        reactor.stop()
        await asyncio.sleep(0.01)  # shutdown runs on the loop, which goes on
        return data, asyncio.get_running_loop().is_running()

    assert runMain(main()) == (b"round trip", True)
