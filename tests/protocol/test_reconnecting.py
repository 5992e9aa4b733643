"""ReconnectingClientFactory: exponential backoff on a fake clock."""

from __future__ import annotations

import math
import random

import pytest

from plait.defer import Failure
from plait.log import LogEvent, formatEvent, globalLogPublisher
from plait.protocol import (
    ConnectionRefusedError,
    IPv4Address,
    NotConnectingError,
    Protocol,
    ReconnectingClientFactory,
)
from plait.testing import Clock

REASON = Failure(ConnectionRefusedError(111, "refused"))


class FakeConnector:
    """A connector that counts connect() calls and knows whether it is connecting."""

    def __init__(self) -> None:
        self.connects = 0
        self.connecting = False
        self.stops = 0

    def connect(self) -> None:
        self.connects += 1
        self.connecting = True

    def stopConnecting(self) -> None:
        if not self.connecting:
            raise NotConnectingError()
        self.connecting = False
        self.stops += 1

    def disconnect(self) -> None:
        self.connecting = False

    def getDestination(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 7)


def make(clock: Clock, **attrs: object) -> ReconnectingClientFactory:
    f = ReconnectingClientFactory(clock=clock)
    f.jitter = 0
    for name, value in attrs.items():
        setattr(f, name, value)
    return f


def fail(f: ReconnectingClientFactory, clock: Clock, connector: FakeConnector) -> float | None:
    """Report one failed attempt; return the delay scheduled (None when it gave up)."""
    connector.connecting = False
    f.clientConnectionFailed(connector, REASON)
    calls = clock.getDelayedCalls()
    if not calls:
        return None
    assert len(calls) == 1
    return calls[0].getTime() - clock.seconds()


def test_delays_grow_by_factor_and_connect_again() -> None:
    """Each failure waits factor times longer, then calls connector.connect()."""
    clock, connector = Clock(), FakeConnector()
    f = make(clock)
    expected = [math.e**n for n in (1, 2, 3, 4)]
    for attempt, want in enumerate(expected, 1):
        delay = fail(f, clock, connector)
        assert delay == pytest.approx(want)
        clock.advance(want - 0.001)
        assert connector.connects == attempt - 1
        clock.advance(0.002)
        assert connector.connects == attempt
    assert f.retries == 4


def test_delay_is_capped_at_max_delay() -> None:
    """The wait never exceeds maxDelay."""
    clock, connector = Clock(), FakeConnector()
    f = make(clock, maxDelay=10.0)
    delays = []
    for _ in range(5):
        delays.append(fail(f, clock, connector))
        clock.advance(10)
    assert delays == pytest.approx([math.e, math.e**2, 10.0, 10.0, 10.0])


def test_connection_lost_also_reconnects() -> None:
    """A lost connection schedules a reconnection like a failed attempt."""
    clock, connector = Clock(), FakeConnector()
    f = make(clock, initialDelay=2.0, factor=2.0)
    f.clientConnectionLost(connector, REASON)
    clock.advance(4.0)
    assert connector.connects == 1


def test_gives_up_after_max_retries() -> None:
    """After maxRetries attempts no further retry is scheduled."""
    clock, connector = Clock(), FakeConnector()
    f = make(clock, maxRetries=2)
    assert fail(f, clock, connector) is not None
    clock.advance(100)
    assert fail(f, clock, connector) is not None
    clock.advance(100)
    assert fail(f, clock, connector) is None
    clock.advance(10_000)
    assert connector.connects == 2


def test_reset_delay_starts_over() -> None:
    """resetDelay (after a good connection) brings the wait and retry count back."""
    clock, connector = Clock(), FakeConnector()
    f = make(clock)
    for _ in range(3):
        fail(f, clock, connector)
        clock.advance(1000)
    f.resetDelay()
    assert (f.delay, f.retries) == (1.0, 0)
    assert fail(f, clock, connector) == pytest.approx(math.e)


def test_stop_trying_cancels_a_pending_retry() -> None:
    """stopTrying cancels the scheduled retry and no later failure schedules one."""
    clock, connector = Clock(), FakeConnector()
    f = make(clock)
    fail(f, clock, connector)
    f.stopTrying()
    assert clock.getDelayedCalls() == []
    clock.advance(1000)
    assert connector.connects == 0
    f.clientConnectionLost(connector, REASON)
    assert clock.getDelayedCalls() == []
    assert not f.continueTrying


def test_stop_trying_stops_an_attempt_in_progress() -> None:
    """stopTrying stops the connector while it is connecting, and tolerates it not being so."""
    clock, connector = Clock(), FakeConnector()
    f = make(clock)
    fail(f, clock, connector)
    clock.advance(10)
    assert connector.connecting
    f.stopTrying()
    assert connector.stops == 1
    f.stopTrying()
    assert connector.stops == 1


def test_jitter_varies_the_delay_reproducibly() -> None:
    """With jitter, delays scatter around the exponential curve, within [0, maxDelay]."""

    def delays(seed: int) -> list[float]:
        clock, connector = Clock(), FakeConnector()
        f = ReconnectingClientFactory(clock=clock)
        f.rng = random.Random(seed)
        f.maxDelay = 30.0
        got = []
        for _ in range(8):
            delay = fail(f, clock, connector)
            assert delay is not None
            got.append(delay)
            clock.advance(31)
        return got

    first = delays(1)
    assert first == delays(1)
    assert first != delays(2)
    assert all(0 <= d <= 30.0 for d in first)
    assert first[0] != pytest.approx(math.e, abs=1e-9)
    assert first[0] == pytest.approx(math.e, rel=0.6)


def test_clock_must_be_set() -> None:
    """Without a clock, retrying says what is missing instead of using a global reactor."""
    f = ReconnectingClientFactory()
    with pytest.raises(RuntimeError, match="clock is not set"):
        f.clientConnectionFailed(FakeConnector(), REASON)


def test_clock_as_attribute_and_through_for_protocol() -> None:
    """The clock can be assigned, or passed through forProtocol."""
    clock, connector = Clock(), FakeConnector()
    f = ReconnectingClientFactory.forProtocol(Protocol, clock=clock)
    f.clientConnectionFailed(connector, REASON)
    assert len(clock.getDelayedCalls()) == 1
    g = ReconnectingClientFactory()
    g.clock = clock
    g.clientConnectionFailed(connector, REASON)
    assert len(clock.getDelayedCalls()) == 2


def test_retry_without_connector() -> None:
    """retry() with no connector ever seen is an error."""
    with pytest.raises(ValueError, match="no connector"):
        ReconnectingClientFactory(clock=Clock()).retry()


def test_noisy_retries_are_logged() -> None:
    """Each scheduled retry and giving up are logged for a noisy factory."""
    seen: list[LogEvent] = []
    globalLogPublisher.addObserver(seen.append)
    try:
        clock, connector = Clock(), FakeConnector()
        f = make(clock, maxRetries=1)
        fail(f, clock, connector)
        clock.advance(10)
        fail(f, clock, connector)
    finally:
        globalLogPublisher.removeObserver(seen.append)
    texts = [formatEvent(e) for e in seen if e.get("log_namespace") == "plait.protocol"]
    assert texts == [
        f"{connector!r} will retry in 2.718 seconds",
        f"Abandoning {connector!r} after 1 retries",
    ]
