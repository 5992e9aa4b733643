"""Running, stopping, crashing, system event triggers and reactor lifecycles."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from plait.defer import Deferred
from plait.reactor import (
    IReactorCore,
    IReactorFDSet,
    IReactorPluggableResolver,
    IReactorThreads,
    IReactorTime,
    PosixReactorBase,
    ReactorAlreadyRunning,
    ReactorNotRestartable,
    ReactorNotRunning,
    reactorClassNamed,
)
from plait.testing import flushLoggedErrors

from .conftest import BACKENDS, runReactor


def test_provides_interfaces(reactor: PosixReactorBase) -> None:
    """Every backend provides the core, time, FD-set, threads and resolver interfaces."""
    for iface in (
        IReactorCore,
        IReactorTime,
        IReactorFDSet,
        IReactorThreads,
        IReactorPluggableResolver,
    ):
        assert isinstance(reactor, iface), iface


def test_run_stop(reactor: PosixReactorBase) -> None:
    """run() returns after stop(); running is True only in between."""
    seen: list[bool] = []
    assert not reactor.running

    def stopIt() -> None:
        seen.append(reactor.running)
        reactor.stop()

    reactor.callWhenRunning(stopIt)
    runReactor(reactor)
    assert seen == [True]
    assert not reactor.running


def test_stop_when_not_running(reactor: PosixReactorBase) -> None:
    """stop() on a reactor never run, or stopping already, raises ReactorNotRunning."""
    with pytest.raises(ReactorNotRunning):
        reactor.stop()
    errors: list[type[BaseException]] = []

    def stopTwice() -> None:
        reactor.stop()
        try:
            reactor.stop()
        except ReactorNotRunning as e:
            errors.append(type(e))

    reactor.callWhenRunning(stopTwice)
    runReactor(reactor)
    assert errors == [ReactorNotRunning]


def test_not_restartable(reactor: PosixReactorBase) -> None:
    """A stopped reactor refuses to run again."""
    reactor.callWhenRunning(reactor.stop)
    runReactor(reactor)
    with pytest.raises(ReactorNotRestartable):
        reactor.run(installSignalHandlers=False)


def test_run_while_running(reactor: PosixReactorBase) -> None:
    """run() inside a running reactor raises ReactorAlreadyRunning."""
    errors: list[type[BaseException]] = []

    def nested() -> None:
        try:
            reactor.run(installSignalHandlers=False)
        except ReactorAlreadyRunning as e:
            errors.append(type(e))
        reactor.stop()

    reactor.callWhenRunning(nested)
    runReactor(reactor)
    assert errors == [ReactorAlreadyRunning]


def test_crash_skips_shutdown_and_can_rerun(reactor: PosixReactorBase) -> None:
    """crash() leaves run() without shutdown triggers; run() works again afterwards."""
    events: list[str] = []
    reactor.addSystemEventTrigger("before", "shutdown", events.append, "shutdown")
    reactor.callWhenRunning(reactor.crash)
    reactor.run(installSignalHandlers=False)
    assert events == []
    assert not reactor.running

    def again() -> None:
        events.append("again")
        reactor.stop()

    reactor.callWhenRunning(again)
    runReactor(reactor)
    assert events == ["again", "shutdown"]


def test_call_when_running(reactor: PosixReactorBase) -> None:
    """callWhenRunning calls at startup, or at once when already running."""
    calls: list[tuple[str, Any]] = []

    def later() -> None:
        result = reactor.callWhenRunning(calls.append, ("now", reactor.running))
        assert result is None
        reactor.stop()

    reactor.callWhenRunning(calls.append, ("startup", 1))
    reactor.callWhenRunning(later)
    assert calls == []
    runReactor(reactor)
    assert calls == [("startup", 1), ("now", True)]


def test_trigger_order(reactor: PosixReactorBase) -> None:
    """Triggers run before, during, after; startup then shutdown; in order of addition."""
    events: list[str] = []
    for event in ("startup", "shutdown"):
        for phase in ("after", "during", "before"):
            reactor.addSystemEventTrigger(phase, event, events.append, f"{phase} {event} 1")
            reactor.addSystemEventTrigger(phase, event, events.append, f"{phase} {event} 2")
    reactor.callWhenRunning(reactor.stop)
    runReactor(reactor)
    expected = []
    for event in ("startup", "shutdown"):
        for phase in ("before", "during", "after"):
            expected += [f"{phase} {event} 1", f"{phase} {event} 2"]
    assert events == expected


def test_remove_trigger(reactor: PosixReactorBase) -> None:
    """A removed trigger does not run; removing it twice is a ValueError."""
    events: list[str] = []
    tid = reactor.addSystemEventTrigger("during", "shutdown", events.append, "removed")
    reactor.addSystemEventTrigger("during", "shutdown", events.append, "kept")
    reactor.removeSystemEventTrigger(tid)
    with pytest.raises(ValueError):
        reactor.removeSystemEventTrigger(tid)
    with pytest.raises(ValueError):
        reactor.addSystemEventTrigger("sometime", "shutdown", events.append)  # type: ignore[arg-type]
    reactor.callWhenRunning(reactor.stop)
    runReactor(reactor)
    assert events == ["kept"]


def test_before_shutdown_deferred_delays_shutdown(reactor: PosixReactorBase) -> None:
    """A Deferred from a 'before shutdown' trigger holds 'during' back until it fires."""
    events: list[str] = []
    d: Deferred[None] = Deferred()

    def before() -> Deferred[None]:
        events.append("before")
        reactor.callLater(0.05, fire)
        return d

    def fire() -> None:
        events.append("fired")
        d.callback(None)

    reactor.addSystemEventTrigger("before", "shutdown", before)
    reactor.addSystemEventTrigger("during", "shutdown", events.append, "during")
    reactor.addSystemEventTrigger("after", "shutdown", events.append, "after")
    reactor.callWhenRunning(reactor.stop)
    runReactor(reactor)
    assert events == ["before", "fired", "during", "after"]


def test_raising_trigger_is_logged(reactor: PosixReactorBase) -> None:
    """A trigger that raises is logged and the other triggers still run."""
    events: list[str] = []

    def boom() -> None:
        raise ZeroDivisionError("trigger")

    reactor.addSystemEventTrigger("before", "shutdown", boom)
    reactor.addSystemEventTrigger("before", "shutdown", events.append, "next")
    reactor.addSystemEventTrigger("after", "shutdown", events.append, "after")
    reactor.callWhenRunning(reactor.stop)
    runReactor(reactor)
    assert events == ["next", "after"]
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1


def test_fire_custom_event(reactor: PosixReactorBase) -> None:
    """fireSystemEvent runs the triggers of any event type, each once."""
    events: list[str] = []
    reactor.addSystemEventTrigger("during", "custom", events.append, "x")
    reactor.fireSystemEvent("custom")
    reactor.fireSystemEvent("custom")
    reactor.fireSystemEvent("nothing-registered")
    assert events == ["x"]


def _openFds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
@pytest.mark.parametrize("backend", BACKENDS)
def test_fresh_reactors_in_sequence_leak_nothing(backend: str) -> None:
    """Three reactors run and stop one after another, leaving no fds and no threads."""
    before = _openFds()
    threadsBefore = set(threading.enumerate())
    results: list[int] = []
    for i in range(3):
        r = reactorClassNamed(backend)()
        r.callWhenRunning(r.callInThread, lambda: None)
        r.callLater(0.01, results.append, i)
        r.callLater(0.02, r.stop)
        runReactor(r)
    assert results == [0, 1, 2]
    assert _openFds() == before
    assert set(threading.enumerate()) == threadsBefore


@pytest.mark.parametrize("backend", BACKENDS)
def test_construction_has_no_side_effects(backend: str) -> None:
    """Making (and closing) a reactor starts no thread; close() releases its fds."""
    threadsBefore = threading.active_count()
    fdsBefore = _openFds()
    r = reactorClassNamed(backend)()
    assert threading.active_count() == threadsBefore
    r.close()
    r.close()
    assert _openFds() == fdsBefore
    with pytest.raises(ReactorNotRestartable):
        r.run(installSignalHandlers=False)


def test_iterate(reactor: PosixReactorBase) -> None:
    """iterate() runs due calls without run()."""
    calls: list[int] = []
    reactor.callLater(0, calls.append, 1)
    reactor.callFromThread(calls.append, 2)
    for _ in range(3):
        reactor.iterate(0)
    assert sorted(calls) == [1, 2]


def test_keyboard_interrupt_passes_through(reactor: PosixReactorBase) -> None:
    """KeyboardInterrupt from a delayed call is not swallowed: it leaves run()."""

    def interrupt() -> None:
        raise KeyboardInterrupt

    reactor.callLater(0, interrupt)
    guard = reactor.callLater(5, reactor.stop)
    with pytest.raises(KeyboardInterrupt):
        reactor.run(installSignalHandlers=False)
    assert guard.active()
    guard.cancel()


def test_stop_from_another_thread_wakes_loop(reactor: PosixReactorBase) -> None:
    """stop() called from another thread ends a loop sleeping with nothing to do."""
    import time

    def stopSoon() -> None:
        time.sleep(0.05)
        reactor.stop()

    thread = threading.Thread(target=stopSoon)
    reactor.callWhenRunning(thread.start)
    start = time.monotonic()
    runReactor(reactor)
    thread.join()
    assert time.monotonic() - start < 2


def test_run_in_another_thread(reactor: PosixReactorBase) -> None:
    """A reactor runs in a non-main thread (signal handlers are skipped there)."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []
    errors: list[BaseException] = []

    def runIt() -> None:
        try:
            reactor.run(installSignalHandlers=True)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    reactor.callWhenRunning(lambda: seen.append(signal.getsignal(signal.SIGINT)))
    thread = threading.Thread(target=runIt)
    thread.start()
    deadline = 100
    while not reactor.running and deadline:
        threading.Event().wait(0.01)
        deadline -= 1
    reactor.callFromThread(reactor.stop)
    thread.join(5)
    assert not thread.is_alive() and errors == []
    assert seen == [before]


def test_closed_reactor_has_no_thread_pool(reactor: PosixReactorBase) -> None:
    """After a reactor is closed, asking for its thread pool is an error, not a leak."""
    reactor.close()
    with pytest.raises(RuntimeError):
        reactor.getThreadPool()


def test_before_shutdown_coroutine_delays_shutdown(reactor: PosixReactorBase) -> None:
    """An async 'before shutdown' trigger is awaited before 'during' runs."""
    events: list[str] = []

    async def before() -> None:
        d: Deferred[None] = Deferred()
        reactor.callLater(0.02, d.callback, None)
        await d
        events.append("awaited")

    reactor.addSystemEventTrigger("before", "shutdown", before)
    reactor.addSystemEventTrigger("during", "shutdown", events.append, "during")
    reactor.callWhenRunning(reactor.stop)
    runReactor(reactor)
    assert events == ["awaited", "during"]
