"""Fixtures for plait.defer tests: a fake clock and a capture of plait.defer's log events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plait.log import globalLogPublisher


class FakeDelayedCall:
    """A scheduled call on :class:`FakeClock`."""

    def __init__(self, clock: FakeClock, time: float, f: Callable[..., object], args: Any) -> None:
        self.clock = clock
        self.time = time
        self.f = f
        self.args = args
        self.called = False
        self.cancelled = False

    def active(self) -> bool:
        return not (self.called or self.cancelled)

    def cancel(self) -> None:
        assert self.active(), "cancel() of an inactive call"
        self.cancelled = True
        self.clock.calls.remove(self)


class FakeClock:
    """Just enough of IReactorTime for addTimeout: callLater and advance (no real time)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[FakeDelayedCall] = []

    def callLater(self, delay: float, f: Callable[..., object], *args: Any) -> FakeDelayedCall:
        call = FakeDelayedCall(self, self.now + delay, f, args)
        self.calls.append(call)
        return call

    def advance(self, amount: float) -> None:
        self.now += amount
        for call in sorted(self.calls, key=lambda c: c.time):
            if call.time <= self.now and call.active():
                self.calls.remove(call)
                call.called = True
                call.f(*call.args)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A fresh fake clock at time 0."""
    return FakeClock()


@pytest.fixture
def defer_log() -> Iterator[list[dict[str, Any]]]:
    """Events logged in the plait.defer namespace while the test runs."""
    events: list[dict[str, Any]] = []

    def observer(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "plait.defer":
            events.append(event)

    globalLogPublisher.addObserver(observer)
    try:
        yield events
    finally:
        globalLogPublisher.removeObserver(observer)
