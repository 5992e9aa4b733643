"""SIGINT/SIGTERM stop a running reactor cleanly; handlers live only inside run()."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from plait.reactor import PosixReactorBase

from .conftest import BACKENDS, runReactor


def test_sigint_stops_reactor(reactor: PosixReactorBase) -> None:
    """SIGINT while running runs the shutdown triggers and run() returns normally."""
    events: list[str] = []
    before = signal.getsignal(signal.SIGINT)
    reactor.addSystemEventTrigger("after", "shutdown", events.append, "shutdown")
    reactor.callLater(0.01, signal.raise_signal, signal.SIGINT)
    guard = reactor.callLater(5, reactor.stop)
    reactor.run(installSignalHandlers=True)
    assert events == ["shutdown"]
    assert guard.active()
    assert signal.getsignal(signal.SIGINT) is before
    assert signal.set_wakeup_fd(-1) == -1


def test_no_handlers_without_request(reactor: PosixReactorBase) -> None:
    """run(installSignalHandlers=False) leaves SIGINT alone."""
    seen: list[object] = []
    reactor.callWhenRunning(lambda: seen.append(signal.getsignal(signal.SIGINT)))
    reactor.callLater(0.01, reactor.stop)
    runReactor(reactor)
    assert seen == [signal.getsignal(signal.SIGINT)]


CHILD = textwrap.dedent(
    """
    import sys
    from plait.reactor import reactorClassNamed
    r = reactorClassNamed(sys.argv[1])()
    r.addSystemEventTrigger("after", "shutdown", print, "clean shutdown", flush=True)
    r.callWhenRunning(print, "running", flush=True)
    r.callLater(10, print, "timed out", flush=True)
    r.run()
    print("run returned", flush=True)
    """
)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_to_process_stops_idle_reactor(backend: str, sig: int) -> None:
    """A signal sent to a process whose reactor sleeps stops it at once."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, backend], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "running"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.split("\n")[:2] == ["clean shutdown", "run returned"]
    assert proc.returncode == 0
