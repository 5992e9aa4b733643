"""Fixtures for the reactor tests: a fresh reactor of every backend, and a bounded run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plait.reactor import PosixReactorBase, reactorClassNamed, reactorNames

BACKENDS = [name for name in ("select", "poll", "epoll", "kqueue") if name in reactorNames()]


class RunTimedOut(AssertionError):
    """The reactor under test did not stop by itself in time."""


def runReactor(reactor: PosixReactorBase, timeout: float = 5.0) -> None:
    """Run ``reactor`` (no signal handlers) and fail if it is still running after ``timeout``."""
    timedOut: list[bool] = []

    def guard() -> None:
        timedOut.append(True)
        reactor.stop()

    call = reactor.callLater(timeout, guard)
    reactor.run(installSignalHandlers=False)
    if timedOut:
        raise RunTimedOut(f"reactor still running after {timeout}s")
    if call.active():
        call.cancel()


@pytest.fixture(params=[*BACKENDS, "kqueue-on-poll"])
def reactor(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PosixReactorBase]:
    """A new reactor of each backend, closed after the test.

    Where there is no kqueue, KQueueReactor runs on a poll-based stand-in (``fakekqueue``).
    """
    r: PosixReactorBase
    if request.param == "kqueue-on-poll":
        if "kqueue" in BACKENDS:
            pytest.skip("the real kqueue is tested")
        from plait.reactor import _kqueue

        from .fakekqueue import fakeSelect

        monkeypatch.setattr(_kqueue, "_select", fakeSelect)
        r = _kqueue.KQueueReactor()
    else:
        r = reactorClassNamed(request.param)()
    yield r
    if r._started:
        r.crash()
    r.close()
