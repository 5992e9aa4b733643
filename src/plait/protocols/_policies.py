"""Policies as protocol wrappers (paper §4.4): throttling, connection limits, timeouts, logging.

Each policy is a ``WrappingFactory`` (or a factory building ``ProtocolWrapper``s) that stands
between a transport and the real protocol, so it works over any transport kind: TCP, TLS,
Unix and in-memory transports alike. Time comes from an injected clock (a reactor or
``plait.testing.Clock``); nothing here reaches for a global reactor.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol

from plait.log import Logger
from plait.protocol import (
    Factory,
    IPv4Address,
    IPv6Address,
    ProtocolWrapper,
    ServerFactory,
    UNIXAddress,
    WrappingFactory,
    connectionDone,
)

if TYPE_CHECKING:
    from plait.defer import Failure
    from plait.protocol import IAddress, IProducer, IProtocol, ITransport

__all__ = [
    "IClock",
    "LimitConnectionsByPeer",
    "LimitTotalConnectionsFactory",
    "ThrottlingFactory",
    "ThrottlingProtocol",
    "TimeoutFactory",
    "TimeoutMixin",
    "TimeoutProtocol",
    "TrafficLoggingFactory",
    "TrafficLoggingProtocol",
]

_P = ParamSpec("_P")
_log = Logger("plait.protocols.policies")


class _Call(Protocol):
    def cancel(self) -> None: ...
    def active(self) -> bool: ...
    def reset(self, secondsFromNow: float) -> None: ...


class IClock(Protocol):
    """The slice of ``IReactorTime`` the policies use (any reactor, or a testing ``Clock``)."""

    def seconds(self) -> float:
        """The current time."""
        ...

    def callLater(
        self, delay: float, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> Any:
        """Call ``callable(*args, **kw)`` ``delay`` seconds from now; returns a delayed call."""
        ...


def _clockOf(explicit: IClock | None, transport: object) -> IClock:
    """``explicit``, else the reactor of the (possibly wrapped) transport."""
    if explicit is not None:
        return explicit
    reactor = getattr(transport, "reactor", None)
    if reactor is None or not hasattr(reactor, "callLater"):
        raise RuntimeError(
            "no clock: pass clock=<reactor or Clock> (the transport has no reactor to use)"
        )
    clock: IClock = reactor
    return clock


# -- throttling -------------------------------------------------------------------------------


class _ThrottledProducer:
    """Registered with the real transport in place of the protocol's producer.

    The producer is paused while the transport asks for it *or* the factory throttles
    writes, and resumed only when neither does.
    """

    def __init__(self, owner: ThrottlingProtocol, producer: IProducer, streaming: bool) -> None:
        self.owner = owner
        self.producer = producer
        self.streaming = streaming
        self.transportPaused = False
        self.pendingPull = False

    def _throttled(self) -> bool:
        return self.owner.factory.writesThrottled

    def pauseProducing(self) -> None:
        """The transport's buffer is full."""
        if not self.transportPaused:
            self.transportPaused = True
            if not self._throttled():
                self.producer.pauseProducing()  # type: ignore[attr-defined]

    def resumeProducing(self) -> None:
        """The transport wants more (a pull producer), or its buffer drained (streaming)."""
        if self.streaming:
            if self.transportPaused:
                self.transportPaused = False
                if not self._throttled():
                    self.producer.resumeProducing()  # type: ignore[attr-defined]
        elif self._throttled():
            self.pendingPull = True
        else:
            self.producer.resumeProducing()  # type: ignore[attr-defined]

    def stopProducing(self) -> None:
        """The transport is going away."""
        self.producer.stopProducing()

    def throttle(self) -> None:
        if self.streaming and not self.transportPaused:
            self.producer.pauseProducing()  # type: ignore[attr-defined]

    def unthrottle(self) -> None:
        if self.streaming:
            if not self.transportPaused:
                self.producer.resumeProducing()  # type: ignore[attr-defined]
        elif self.pendingPull:
            self.pendingPull = False
            self.producer.resumeProducing()  # type: ignore[attr-defined]


class ThrottlingProtocol(ProtocolWrapper):
    """Counts bytes both ways for its ``ThrottlingFactory`` and obeys its throttling."""

    factory: ThrottlingFactory

    def __init__(self, factory: ThrottlingFactory, wrappedProtocol: IProtocol) -> None:
        super().__init__(factory, wrappedProtocol)
        self._producer: _ThrottledProducer | None = None
        self._userPaused = False
        self._readThrottled = False

    def write(self, data: bytes) -> None:
        """Count and send ``data``."""
        self.factory.registerWritten(len(data))
        super().write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Count and send every chunk."""
        chunks = list(data)
        self.factory.registerWritten(sum(len(c) for c in chunks))
        super().writeSequence(chunks)

    def dataReceived(self, data: bytes) -> None:
        """Count and deliver ``data`` (reading is paused once over the limit)."""
        self.factory.registerRead(len(data))
        super().dataReceived(data)

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """Register ``producer`` through a proxy that also pauses it while throttled."""
        proxy = _ThrottledProducer(self, producer, streaming)
        self._transport().registerProducer(proxy, streaming)  # type: ignore[attr-defined]
        self._producer = proxy
        if self.factory.writesThrottled:
            proxy.throttle()

    def unregisterProducer(self) -> None:
        """Unregister the producer."""
        self._producer = None
        super().unregisterProducer()

    # The wrapped protocol may pause reading itself; throttling must not undo that, nor it
    # undo throttling: the transport reads only when neither wants it paused.

    def pauseProducing(self) -> None:
        """The wrapped protocol pauses reading."""
        wasPaused = self._userPaused or self._readThrottled
        self._userPaused = True
        if not wasPaused:
            super().pauseProducing()

    def resumeProducing(self) -> None:
        """The wrapped protocol resumes reading (it stays paused while throttled)."""
        self._userPaused = False
        if not self._readThrottled:
            super().resumeProducing()

    def throttleReads(self) -> None:
        """Pause the transport's reading (called by the factory)."""
        if not self._readThrottled:
            self._readThrottled = True
            if not self._userPaused:
                super().pauseProducing()

    def unthrottleReads(self) -> None:
        """Resume reading unless the wrapped protocol paused it itself."""
        if self._readThrottled:
            self._readThrottled = False
            if not self._userPaused:
                super().resumeProducing()

    def throttleWrites(self) -> None:
        """Pause the registered producer (called by the factory)."""
        if self._producer is not None:
            self._producer.throttle()

    def unthrottleWrites(self) -> None:
        """Resume the registered producer."""
        if self._producer is not None:
            self._producer.unthrottle()

    def makeConnection(self, transport: ITransport) -> None:
        """Connect, then obey a read throttle already in force."""
        super().makeConnection(transport)
        if self.factory.readsThrottled and self.connected:
            self.throttleReads()


class ThrottlingFactory(WrappingFactory):
    """Limits the connections and the bandwidth of ``wrappedFactory``'s protocols.

    - ``maxConnectionCount``: connections beyond it are refused (``buildProtocol`` returns
      None; the transport closes them at once).
    - ``readLimit``/``writeLimit``: bytes per second summed over all connections (None: no
      limit). Once the bytes counted in the current second exceed a limit, every connection's
      reading is paused (``pauseProducing``) or every registered producer is paused; each
      second the limit is paid off the count (what went over is carried into the next second,
      so the average rate converges on the limit) and traffic resumes when the count is under
      it. Writes are limited through the producer API only: a protocol that writes without a
      registered producer is counted but never held back (nothing is buffered here).
    - ``clock``: where the per-second check is scheduled (a reactor or a testing ``Clock``);
      without one, the reactor of the first connection's transport is used. The check runs
      only while there are connections or bytes still to pay off.
    """

    protocol = ThrottlingProtocol

    def __init__(
        self,
        wrappedFactory: Factory,
        maxConnectionCount: int = sys.maxsize,
        readLimit: float | None = None,
        writeLimit: float | None = None,
        *,
        clock: IClock | None = None,
    ) -> None:
        super().__init__(wrappedFactory)
        self.maxConnectionCount = maxConnectionCount
        self.readLimit = readLimit
        self.writeLimit = writeLimit
        self.clock = clock
        self.connectionCount = 0
        self.readThisSecond = 0
        self.writtenThisSecond = 0
        self.readsThrottled = False
        self.writesThrottled = False
        self._tick: _Call | None = None

    def buildProtocol(self, addr: IAddress) -> ProtocolWrapper | None:
        """A throttled protocol, or None when ``maxConnectionCount`` connections are up."""
        if self.connectionCount >= self.maxConnectionCount:
            _log.info(
                "{factory} refused a connection from {addr}: {n} connections is the maximum",
                factory=self.logPrefix(),
                addr=addr,
                n=self.maxConnectionCount,
            )
            return None
        p = super().buildProtocol(addr)
        if p is not None:
            self.connectionCount += 1
        return p

    def registerProtocol(self, p: ProtocolWrapper) -> None:
        """A connection is up: make sure the per-second check is running."""
        super().registerProtocol(p)
        if self.readLimit is not None or self.writeLimit is not None:
            if self.clock is None:
                self.clock = _clockOf(None, p.transport)
            self._scheduleTick()

    def unregisterProtocol(self, p: ProtocolWrapper) -> None:
        """A connection is gone."""
        super().unregisterProtocol(p)
        self.connectionCount -= 1

    def _scheduleTick(self) -> None:
        if self._tick is None and self.clock is not None:
            self._tick = self.clock.callLater(1.0, self._everySecond)

    def _everySecond(self) -> None:
        self._tick = None
        if self.readLimit is not None:
            self.readThisSecond = max(0, self.readThisSecond - int(self.readLimit))
            if self.readsThrottled and self.readThisSecond < self.readLimit:
                self.unthrottleReads()
        else:
            self.readThisSecond = 0
        if self.writeLimit is not None:
            self.writtenThisSecond = max(0, self.writtenThisSecond - int(self.writeLimit))
            if self.writesThrottled and self.writtenThisSecond < self.writeLimit:
                self.unthrottleWrites()
        else:
            self.writtenThisSecond = 0
        if self.protocols or self.readThisSecond or self.writtenThisSecond:
            self._scheduleTick()

    def registerRead(self, length: int) -> None:
        """``length`` bytes were read; throttle reading if that is over the limit."""
        self.readThisSecond += length
        limit = self.readLimit
        if limit is not None and not self.readsThrottled and self.readThisSecond > limit:
            self.throttleReads()

    def registerWritten(self, length: int) -> None:
        """``length`` bytes were written; throttle producers if that is over the limit."""
        self.writtenThisSecond += length
        limit = self.writeLimit
        if limit is not None and not self.writesThrottled and self.writtenThisSecond > limit:
            self.throttleWrites()

    def _each(self, method: str) -> None:
        for p in list(self.protocols):
            getattr(p, method)()

    def throttleReads(self) -> None:
        """Pause reading on every connection."""
        _log.debug("{factory} throttling reads", factory=self.logPrefix())
        self.readsThrottled = True
        self._each("throttleReads")
        self._scheduleTick()

    def unthrottleReads(self) -> None:
        """Resume reading on every connection."""
        _log.debug("{factory} stopped throttling reads", factory=self.logPrefix())
        self.readsThrottled = False
        self._each("unthrottleReads")

    def throttleWrites(self) -> None:
        """Pause every registered producer."""
        _log.debug("{factory} throttling writes", factory=self.logPrefix())
        self.writesThrottled = True
        self._each("throttleWrites")
        self._scheduleTick()

    def unthrottleWrites(self) -> None:
        """Resume every registered producer."""
        _log.debug("{factory} stopped throttling writes", factory=self.logPrefix())
        self.writesThrottled = False
        self._each("unthrottleWrites")

    def stopFactory(self) -> None:
        """The last port stopped: stop the per-second check."""
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None


# -- connection limits ------------------------------------------------------------------------


class _CountedWrapper(ProtocolWrapper):
    """A wrapper that tells its ``LimitTotalConnectionsFactory`` when its connection ends."""

    def __init__(self, factory: Any, wrappedProtocol: IProtocol) -> None:
        super().__init__(factory, wrappedProtocol)
        self._counter = factory

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Tell the counting factory, then the wrapped protocol."""
        self._counter.connectionEnded(self)
        super().connectionLost(reason)


class LimitTotalConnectionsFactory(ServerFactory):
    """A server factory serving at most ``connectionLimit`` connections at once.

    Set ``protocol`` (as for any factory) and ``connectionLimit`` (None: no limit). A
    connection beyond the limit gets an ``overflowProtocol`` if one is set (to say "busy"
    and close; such connections are not counted), else it is refused: the transport closes
    it at once. ``connectionCount`` is the number of counted connections up now.
    """

    connectionLimit: int | None = None
    overflowProtocol: Callable[[], IProtocol] | None = None

    def __init__(
        self,
        protocol: Callable[..., Any] | None = None,
        connectionLimit: int | None = None,
        overflowProtocol: Callable[[], IProtocol] | None = None,
    ) -> None:
        if protocol is not None:
            self.protocol = protocol
        if connectionLimit is not None:
            self.connectionLimit = connectionLimit
        if overflowProtocol is not None:
            self.overflowProtocol = overflowProtocol
        self.connectionCount = 0
        self._counted: set[ProtocolWrapper] = set()

    def buildProtocol(self, addr: IAddress) -> ProtocolWrapper | None:
        """The protocol wrapped for counting, the overflow protocol, or None (refused)."""
        limit = self.connectionLimit
        counted = limit is None or self.connectionCount < limit
        if counted:
            wrapped = super().buildProtocol(addr)
            if wrapped is None:
                return None
        elif self.overflowProtocol is not None:
            wrapped = self.overflowProtocol()  # type: ignore[assignment]
            wrapped.factory = self  # type: ignore[union-attr]
        else:
            _log.info(
                "{factory} refused a connection from {addr}: {n} connections is the limit",
                factory=self.logPrefix(),
                addr=addr,
                n=limit,
            )
            return None
        p = _CountedWrapper(self, wrapped)  # type: ignore[arg-type]
        if counted:
            self.connectionCount += 1
            self._counted.add(p)
        return p

    def connectionEnded(self, p: ProtocolWrapper) -> None:
        """A connection built here is gone."""
        if p in self._counted:
            self._counted.discard(p)
            self.connectionCount -= 1


def _peerKey(addr: object) -> object:
    if isinstance(addr, IPv4Address | IPv6Address):
        return addr.host
    if isinstance(addr, UNIXAddress):
        return addr.name
    return addr


class LimitConnectionsByPeer(WrappingFactory):
    """Refuses a peer host's connection when it already has ``maxConnectionsPerPeer`` up.

    Peers are told apart by IP address (the port is ignored); a Unix peer by its path.
    ``peerConnections`` maps each peer with connections up to their number.
    """

    def __init__(self, wrappedFactory: Factory, maxConnectionsPerPeer: int = 5) -> None:
        super().__init__(wrappedFactory)
        self.maxConnectionsPerPeer = maxConnectionsPerPeer
        self.peerConnections: dict[object, int] = {}
        self._peerOf: dict[ProtocolWrapper, object] = {}

    def buildProtocol(self, addr: IAddress) -> ProtocolWrapper | None:
        """A wrapped protocol, or None if ``addr``'s host is at its limit."""
        key = _peerKey(addr)
        count = self.peerConnections.get(key, 0)
        if count >= self.maxConnectionsPerPeer:
            _log.info(
                "{factory} refused a connection from {addr}: {n} connections per peer",
                factory=self.logPrefix(),
                addr=addr,
                n=self.maxConnectionsPerPeer,
            )
            return None
        p = super().buildProtocol(addr)
        if p is not None:
            self.peerConnections[key] = count + 1
            self._peerOf[p] = key
        return p

    def unregisterProtocol(self, p: ProtocolWrapper) -> None:
        """A connection is gone: its peer has one fewer."""
        super().unregisterProtocol(p)
        key = self._peerOf.pop(p, None)
        if key is None:
            return
        left = self.peerConnections.get(key, 1) - 1
        if left > 0:
            self.peerConnections[key] = left
        else:
            self.peerConnections.pop(key, None)


# -- timeouts ---------------------------------------------------------------------------------


class TimeoutMixin:
    """Idle timeouts for a protocol: mix in, call ``setTimeout``, ``resetTimeout`` on traffic.

    ``timeoutConnection`` runs once ``timeOut`` seconds pass without a ``resetTimeout``; by
    default it loses the connection. Time comes from ``clock`` (set it to a reactor or a
    ``Clock``); if it is None, the transport's reactor is used.
    """

    timeOut: float | None = None
    clock: IClock | None = None
    _timeoutCall: _Call | None = None

    def callLater(
        self, period: float, func: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> Any:
        """Schedule ``func`` on ``clock`` (or the transport's reactor)."""
        clock = _clockOf(self.clock, getattr(self, "transport", None))
        return clock.callLater(period, func, *args, **kw)

    def resetTimeout(self) -> None:
        """Traffic happened: start the idle period again."""
        call = self._timeoutCall
        if self.timeOut is not None and call is not None and call.active():
            call.reset(self.timeOut)

    def setTimeout(self, period: float | None) -> float | None:
        """Time out after ``period`` idle seconds (None: never); returns the previous period."""
        previous = self.timeOut
        self.timeOut = period
        call = self._timeoutCall
        if call is not None and call.active():
            if period is None:
                call.cancel()
                self._timeoutCall = None
            else:
                call.reset(period)
        elif period is not None:
            self._timeoutCall = self.callLater(period, self._timedOut)
        return previous

    def cancelTimeout(self) -> None:
        """Stop the idle timer (``timeOut`` is kept, for a later ``setTimeout``)."""
        call = self._timeoutCall
        self._timeoutCall = None
        if call is not None and call.active():
            call.cancel()

    def _timedOut(self) -> None:
        self._timeoutCall = None
        self.timeoutConnection()

    def timeoutConnection(self) -> None:
        """The idle period passed: lose the connection (override to do otherwise)."""
        transport = getattr(self, "transport", None)
        if transport is not None:
            transport.loseConnection()


class TimeoutProtocol(ProtocolWrapper, TimeoutMixin):
    """Wraps any protocol with an idle timeout reset by traffic in either direction.

    When it fires the connection is aborted (``abortConnection``; ``loseConnection`` where
    the transport cannot abort): an idle peer may not be reading either, and a clean close
    would wait on it for ever.
    """

    factory: TimeoutFactory

    def __init__(
        self, factory: TimeoutFactory, wrappedProtocol: IProtocol, timeoutPeriod: float
    ) -> None:
        super().__init__(factory, wrappedProtocol)
        self.timeoutPeriod = timeoutPeriod
        self.clock = factory.clock

    def makeConnection(self, transport: ITransport) -> None:
        """Start the idle timer, then connect the wrapped protocol."""
        self.transport = transport
        self.setTimeout(self.timeoutPeriod)
        super().makeConnection(transport)

    def write(self, data: bytes) -> None:
        """Reset the timer and write."""
        self.resetTimeout()
        super().write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Reset the timer and write."""
        self.resetTimeout()
        super().writeSequence(data)

    def dataReceived(self, data: bytes) -> None:
        """Reset the timer and deliver."""
        self.resetTimeout()
        super().dataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Stop the timer and tell the wrapped protocol."""
        self.cancelTimeout()
        super().connectionLost(reason)

    def timeoutConnection(self) -> None:
        """Idle too long: abort the connection."""
        _log.info("{proto} timed out after {t}s idle", proto=self.logPrefix(), t=self.timeoutPeriod)
        transport = self.transport
        if transport is None:
            return
        abort = getattr(transport, "abortConnection", None)
        self.disconnecting = 1
        if abort is not None:
            abort()
        else:
            transport.loseConnection()


class TimeoutFactory(WrappingFactory):
    """Wraps ``wrappedFactory``'s protocols in ``TimeoutProtocol``s (``timeoutPeriod`` idle
    seconds, default 30 minutes), timed on ``clock`` (default: the transport's reactor)."""

    protocol = TimeoutProtocol

    def __init__(
        self,
        wrappedFactory: Factory,
        timeoutPeriod: float = 30 * 60,
        *,
        clock: IClock | None = None,
    ) -> None:
        super().__init__(wrappedFactory)
        self.timeoutPeriod = timeoutPeriod
        self.clock = clock

    def buildProtocol(self, addr: IAddress) -> ProtocolWrapper | None:
        """A ``TimeoutProtocol`` around the wrapped factory's protocol."""
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        return TimeoutProtocol(self, wrapped, self.timeoutPeriod)


# -- traffic logging --------------------------------------------------------------------------


def _preview(data: bytes, limit: int = 64) -> str:
    shown = repr(bytes(data[:limit]))
    return shown + ("..." if len(data) > limit else "")


class TrafficLoggingProtocol(ProtocolWrapper):
    """Logs every event and request of its connection, with byte counts, at debug level.

    ``bytesReceived``/``bytesWritten`` are the totals so far.
    """

    factory: TrafficLoggingFactory

    def __init__(
        self, factory: TrafficLoggingFactory, wrappedProtocol: IProtocol, number: int
    ) -> None:
        super().__init__(factory, wrappedProtocol)
        self.number = number
        self.bytesReceived = 0
        self.bytesWritten = 0
        self._log = factory.logger

    def _emit(self, what: str, **kw: object) -> None:
        self._log.debug("[{conn}] " + what, conn=self.number, **kw)

    def makeConnection(self, transport: ITransport) -> None:
        """Log the connection and its addresses."""
        self._emit(
            "connectionMade host={host} peer={peer}",
            host=transport.getHost(),
            peer=transport.getPeer(),
        )
        super().makeConnection(transport)

    def dataReceived(self, data: bytes) -> None:
        """Log and deliver."""
        self.bytesReceived += len(data)
        self._emit(
            "dataReceived {n} bytes (total {total}): {data}",
            n=len(data),
            total=self.bytesReceived,
            data=_preview(data),
        )
        super().dataReceived(data)

    def write(self, data: bytes) -> None:
        """Log and write."""
        self.bytesWritten += len(data)
        self._emit(
            "write {n} bytes (total {total}): {data}",
            n=len(data),
            total=self.bytesWritten,
            data=_preview(data),
        )
        super().write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Log and write."""
        chunks = list(data)
        n = sum(len(c) for c in chunks)
        self.bytesWritten += n
        self._emit(
            "writeSequence {count} chunks, {n} bytes (total {total})",
            count=len(chunks),
            n=n,
            total=self.bytesWritten,
        )
        super().writeSequence(chunks)

    def loseConnection(self) -> None:
        """Log and lose the connection."""
        self._emit("loseConnection")
        super().loseConnection()

    def abortConnection(self) -> None:
        """Log and abort the connection."""
        self._emit("abortConnection")
        super().abortConnection()

    def loseWriteConnection(self) -> None:
        """Log and half-close."""
        self._emit("loseWriteConnection")
        super().loseWriteConnection()

    def readConnectionLost(self) -> None:
        """Log the peer's half-close."""
        self._emit("readConnectionLost")
        super().readConnectionLost()

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """Log and register."""
        self._emit("registerProducer {p!r} streaming={s}", p=producer, s=streaming)
        super().registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        """Log and unregister."""
        self._emit("unregisterProducer")
        super().unregisterProducer()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Log the end with the totals."""
        self._emit(
            "connectionLost ({reason}); received {received} bytes, wrote {written}",
            reason=reason.getErrorMessage(),
            received=self.bytesReceived,
            written=self.bytesWritten,
        )
        super().connectionLost(reason)


class TrafficLoggingFactory(WrappingFactory):
    """Wraps ``wrappedFactory``'s protocols in ``TrafficLoggingProtocol``s, for debugging.

    Events go to ``logger`` (default: namespace ``plait.protocols.policies.traffic``) at debug
    level; each connection is numbered from 1 in the ``conn`` field.
    """

    protocol = TrafficLoggingProtocol

    def __init__(self, wrappedFactory: Factory, logger: Logger | None = None) -> None:
        super().__init__(wrappedFactory)
        self.logger = logger if logger is not None else Logger("plait.protocols.policies.traffic")
        self.connectionCount = 0

    def buildProtocol(self, addr: IAddress) -> ProtocolWrapper | None:
        """A logging wrapper around the wrapped factory's protocol."""
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            self.logger.debug(
                "refused by {factory}: {addr}", factory=self.wrappedFactory, addr=addr
            )
            return None
        self.connectionCount += 1
        return TrafficLoggingProtocol(self, wrapped, self.connectionCount)

    def resetCounter(self) -> None:
        """Number the next connection 1 again."""
        self.connectionCount = 0
