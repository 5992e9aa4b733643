"""A client factory that reconnects with exponential backoff and jitter."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, Protocol

from plait.log import Logger
from plait.protocol._errors import NotConnectingError
from plait.protocol._protocol import ClientFactory

if TYPE_CHECKING:
    from plait.defer import Failure
    from plait.protocol._interfaces import IConnector

__all__ = ["ReconnectingClientFactory"]

_P = ParamSpec("_P")

_log = Logger(namespace="plait.protocol")


class _Cancellable(Protocol):
    def cancel(self) -> None: ...

    def active(self) -> bool: ...


class _CallLater(Protocol):
    """The one method of ``IReactorTime`` this factory needs (plait.reactor is a layer up)."""

    def callLater(
        self, delay: float, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> _Cancellable: ...


class ReconnectingClientFactory(ClientFactory):
    """Reconnects after a lost or failed connection, waiting longer after each failure.

    The wait starts at ``initialDelay`` and grows by ``factor`` per attempt up to
    ``maxDelay``; each wait is drawn from a normal distribution around it with relative
    standard deviation ``jitter`` (and kept within ``[0, maxDelay]``), so many clients of one
    server do not reconnect in lockstep. After ``maxRetries`` attempts (None: never) it gives
    up. Call ``resetDelay()`` once a connection has succeeded (typically in
    ``buildProtocol``), and ``stopTrying()`` to give up.

    ``clock`` schedules the retries: anything with ``callLater`` (the reactor). It must be set,
    as an attribute or the ``clock`` argument; there is no global reactor to fall back on.
    ``rng`` is the random source for the jitter (None: the ``random`` module).
    """

    maxDelay: float = 3600
    initialDelay: float = 1.0
    factor: float = math.e
    jitter: float = 0.11962656472
    delay: float = initialDelay
    retries: int = 0
    maxRetries: int | None = None
    continueTrying: int = 1
    connector: IConnector | None = None
    clock: _CallLater | None = None
    rng: random.Random | None = None
    _callID: _Cancellable | None = None

    def __init__(self, *, clock: _CallLater | None = None) -> None:
        if clock is not None:
            self.clock = clock

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        """Schedule another attempt, unless ``stopTrying`` was called."""
        if self.continueTrying:
            self.connector = connector
            self.retry()

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        """Schedule a reconnection, unless ``stopTrying`` was called."""
        if self.continueTrying:
            self.connector = connector
            self.retry()

    def retry(self, connector: IConnector | None = None) -> None:
        """Schedule ``connector.connect()`` after the next, longer delay.

        ``connector`` defaults to the last one seen. Does nothing once ``stopTrying`` was
        called or ``maxRetries`` attempts have been made.
        """
        if not self.continueTrying:
            if self.noisy:
                _log.info("Abandoning {connector!r} on explicit request", connector=connector)
            return
        if connector is None:
            if self.connector is None:
                raise ValueError("no connector to retry")
            connector = self.connector
        self.retries += 1
        if self.maxRetries is not None and self.retries > self.maxRetries:
            if self.noisy:
                _log.info(
                    "Abandoning {connector!r} after {retries} retries",
                    connector=connector,
                    retries=self.maxRetries,
                )
            return
        if self.clock is None:
            raise RuntimeError(
                f"{type(self).__name__}.clock is not set: give it the reactor "
                "(anything with callLater) to schedule retries"
            )
        self.delay = min(self.delay * self.factor, self.maxDelay)
        if self.jitter:
            rng = self.rng if self.rng is not None else random
            self.delay = min(
                max(rng.normalvariate(self.delay, self.delay * self.jitter), 0.0), self.maxDelay
            )
        if self.noisy:
            _log.info(
                "{connector!r} will retry in {delay:.3f} seconds",
                connector=connector,
                delay=self.delay,
            )
        target = connector

        def reconnect() -> None:
            self._callID = None
            target.connect()

        self._callID = self.clock.callLater(self.delay, reconnect)

    def stopTrying(self) -> None:
        """Give up: cancel a scheduled retry and stop the attempt in progress, if any."""
        if self._callID is not None:
            if self._callID.active():
                self._callID.cancel()
            self._callID = None
        self.continueTrying = 0
        if self.connector is not None:
            try:
                self.connector.stopConnecting()
            except NotConnectingError:
                pass

    def resetDelay(self) -> None:
        """Start over: the next failure waits ``initialDelay`` again, retries count from 0."""
        self.delay = self.initialDelay
        self.retries = 0
        self._callID = None
        self.continueTrying = 1
