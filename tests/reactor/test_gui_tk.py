"""TkReactor: plait on Tk's event loop, under a private Xvfb (skipped without Tk or Xvfb)."""

from __future__ import annotations

import gc
import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.protocol import Factory
from plait.reactor import ReactorNotRunning, TkReactor, reactorClassNamed

from .guichecks import (
    Echo,
    checkCallFromThreadWakesLoop,
    checkEchoThroughRun,
    checkTimerMovedEarlierRearms,
    cpuSeconds,
    echoRoundTrip,
)
from .xvfb import sharedDisplay, tkSkipReason

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def root() -> Iterator[Any]:
    """A ``tkinter.Tk`` on the session's Xvfb; destroyed (and freed) after the test."""
    reason = tkSkipReason()
    if reason is not None:
        pytest.skip(reason)
    import tkinter

    tk = tkinter.Tk(screenName=sharedDisplay())
    yield tk
    try:
        tk.destroy()
    except tkinter.TclError:
        pass  # the test destroyed it
    # Free the interpreter here, on the main thread: Tcl aborts if a garbage collection on
    # another thread (a later test's worker) frees it.
    del tk
    gc.collect()


class _PerDescriptorTkReactor(TkReactor):
    """The portable mode: one Tcl file handler per descriptor (no epoll set)."""

    nestEpoll = False


@pytest.fixture(params=["epoll-set", "per-fd"])
def tkClass(request: pytest.FixtureRequest) -> type[TkReactor]:
    """TkReactor in both watching modes."""
    return TkReactor if request.param == "epoll-set" else _PerDescriptorTkReactor


def test_registry_name() -> None:
    """reactorClassNamed('tk') is TkReactor."""
    assert reactorClassNamed("tk") is TkReactor


def test_run_drives_tk_and_stop_quits_mainloop(root: Any, tkClass: type[TkReactor]) -> None:
    """reactor.run() runs root.mainloop(): Tk's after() callbacks and plait timers both fire."""
    reactor = tkClass(root)
    seen: list[str] = []
    root.after(20, seen.append, "tk")
    reactor.callLater(0.05, seen.append, "plait")
    reactor.callLater(0.1, reactor.stop)
    started = time.monotonic()
    reactor.run(installSignalHandlers=False)
    assert seen == ["tk", "plait"]
    assert time.monotonic() - started < 2.0
    assert root.winfo_exists()  # the application's window is left alone


def test_tcp_echo_through_reactor_run(root: Any, tkClass: type[TkReactor]) -> None:
    """A 1 MiB TCP echo round trip completes on the Tk loop."""
    checkEchoThroughRun(tkClass(root))


def test_application_mainloop_drives_plait(root: Any, tkClass: type[TkReactor]) -> None:
    """After startRunning(), the application's own root.mainloop() serves plait's TCP."""
    reactor = tkClass(root)
    reactor.startRunning(installSignalHandlers=False)
    got: list[bytes] = []
    d = echoRoundTrip(reactor, b"ping from tk")
    d.addCallback(got.append).addCallback(lambda _: root.quit())
    root.after(10_000, root.quit)  # bound the test
    root.mainloop()
    assert got == [b"ping from tk"]
    reactor.stop()
    root.update()  # serve the waker: 'shutdown' fires; the app's loop keeps its window
    assert not reactor.running
    assert root.winfo_exists()
    with pytest.raises(ReactorNotRunning):
        reactor.stop()


def test_idle_loop_does_not_poll(root: Any, tkClass: type[TkReactor]) -> None:
    """Idle for 1 s with a plait timer pending, Tk handles at most a few events, no polling."""
    reactor = tkClass(root)
    reactor.startRunning(installSignalHandlers=False)
    root.update()
    done: list[bool] = []
    reactor.callLater(1.0, done.append, True)
    reactor.callLater(3600, lambda: None)  # a far timer must not cause periodic wakeups
    events = 0
    cpuBefore, started = cpuSeconds(), time.monotonic()
    while not done and time.monotonic() - started < 3.0:
        root.tk.dooneevent(0)  # blocks until Tcl has an event to handle
        events += 1
    elapsed, cpu = time.monotonic() - started, cpuSeconds() - cpuBefore
    reactor.stop()
    root.update()
    assert done
    assert 0.95 < elapsed < 1.5
    assert events <= 5, f"{events} Tcl events in 1 s of idling"
    assert cpu < 0.1, f"{cpu:.3f} s of CPU in 1 s of idling"


def test_call_from_thread_wakes_tk(root: Any, tkClass: type[TkReactor]) -> None:
    """callFromThread from another thread runs on the Tk loop within milliseconds."""
    checkCallFromThreadWakesLoop(tkClass(root))


def test_timer_moved_earlier_rearms(root: Any, tkClass: type[TkReactor]) -> None:
    """A DelayedCall reset to an earlier time fires at the new time, not the old one."""
    checkTimerMovedEarlierRearms(tkClass(root))


def test_destroying_the_window_ends_run(root: Any, tkClass: type[TkReactor]) -> None:
    """Destroying the root window ends reactor.run() with 'shutdown' fired."""
    reactor = tkClass(root)
    shutdown: list[bool] = []
    reactor.addSystemEventTrigger("before", "shutdown", shutdown.append, True)
    root.after(50, root.destroy)
    guard = reactor.callLater(5, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert shutdown == [True]
    assert not reactor.running
    assert guard.active()


def test_descriptor_beyond_fd_setsize_is_refused(root: Any) -> None:
    """Per-fd mode: a descriptor Tcl's select() notifier cannot watch raises, not aborts."""
    reactor = _PerDescriptorTkReactor(root)

    class Far:
        def fileno(self) -> int:
            return 5000

    with pytest.raises(ValueError, match="FD_SETSIZE"):
        reactor.addReader(Far())  # type: ignore[arg-type]
    reactor.close()


def test_example_tk_echo_client(root: Any, tkClass: type[TkReactor]) -> None:
    """examples/tk_echo_client.py: invoking Send shows the server's echo in the label."""
    spec = importlib.util.spec_from_file_location("tk_echo_client", EXAMPLES / "tk_echo_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tk_echo_client"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["tk_echo_client"]
    reactor = tkClass(root)
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    window = module.EchoClientWindow(reactor, root, "127.0.0.1", port.getHost().port)
    window.entry.delete(0, "end")
    window.entry.insert(0, "héllo over Tk")

    def whenConnected() -> None:
        if window.label.cget("text") != "connected":
            reactor.callLater(0.01, whenConnected)
            return
        window.button.invoke()  # as a click would
        reactor.callLater(0.01, whenAnswered)

    shown: list[str] = []

    def whenAnswered() -> None:
        if window.label.cget("text").startswith("echo:"):
            shown.append(window.label.cget("text"))
            reactor.stop()
        else:
            reactor.callLater(0.01, whenAnswered)

    reactor.callWhenRunning(whenConnected)
    guard = reactor.callLater(10, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert shown == ["echo: héllo over Tk"]
    # At shutdown the reactor lost the connection, and the window says so.
    assert window.label.cget("text").startswith("disconnected:")
    assert guard.active()
    guard.cancel()
