"""Services: long-running parts of a program with a start and a stop, arranged in a tree.

A program is an ``Application`` (a ``MultiService``) whose children listen on ports, run timers
or keep client connections up. ``privilegedStartService`` runs first on the whole tree (while
the process may still be root: ports below 1024 bind here), then ``startService``; stopping
runs children in reverse order and gives back a Deferred that fires when all have stopped.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from plait.defer import Deferred, DeferredList, Failure, maybeDeferred, succeed
from plait.log import Logger
from plait.task import LoopingCall

__all__ = [
    "Application",
    "ClientService",
    "IService",
    "MultiService",
    "Service",
    "StreamServerEndpointService",
    "TimerService",
    "backoffPolicy",
]

_log = Logger(namespace="plait.app.service")


@runtime_checkable
class IService(Protocol):
    """A thing that can be started and stopped, maybe as a named child of a ``MultiService``."""

    name: str | None
    parent: Any
    running: bool

    def setName(self, name: str) -> None:
        """Name this service (before it has a parent)."""

    def setServiceParent(self, parent: Any) -> None:
        """Become a child of ``parent`` (a ``MultiService``)."""

    def disownServiceParent(self) -> Deferred[Any] | None:
        """Leave the parent (stopping if it runs)."""

    def privilegedStartService(self) -> None:
        """Do what needs privileges (bind ports) before they are dropped."""

    def startService(self) -> Deferred[Any] | None:
        """Start; may return a Deferred."""

    def stopService(self) -> Deferred[Any] | None:
        """Stop; may return a Deferred that fires once stopped."""


class Service:
    """A service with nothing to do: the base to subclass."""

    name: str | None = None
    parent: Any = None
    running: bool = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} running={self.running}>"

    def setName(self, name: str) -> None:
        """Name this service; ``RuntimeError`` once it has a parent (the parent indexes names)."""
        if self.parent is not None:
            raise RuntimeError("cannot rename a service that has a parent")
        self.name = name

    def setServiceParent(self, parent: Any) -> None:
        """Become a child of ``parent``; leaves any previous parent first."""
        if self.parent is not None:
            self.disownServiceParent()
        self.parent = parent
        parent.addService(self)

    def disownServiceParent(self) -> Deferred[Any] | None:
        """Leave the parent; returns what its ``removeService`` returns."""
        parent, self.parent = self.parent, None
        if parent is None:
            return None
        result: Deferred[Any] | None = parent.removeService(self)
        return result

    def privilegedStartService(self) -> None:
        """Nothing by default."""

    def startService(self) -> Deferred[Any] | None:
        """Mark running."""
        self.running = True
        return None

    def stopService(self) -> Deferred[Any] | None:
        """Mark stopped."""
        self.running = False
        return None


class MultiService(Service):
    """A service of services: starts children in the order added, stops them in reverse."""

    def __init__(self) -> None:
        self.services: list[IService] = []
        self.namedServices: dict[str, IService] = {}

    def __iter__(self) -> Any:
        return iter(self.services)

    def privilegedStartService(self) -> None:
        """Run every child's ``privilegedStartService`` in order."""
        Service.privilegedStartService(self)
        for service in self.services:
            service.privilegedStartService()

    def startService(self) -> Deferred[Any] | None:
        """Start every child in order."""
        Service.startService(self)
        for service in self.services:
            service.startService()
        return None

    def stopService(self) -> Deferred[Any]:
        """Stop children in reverse order; the Deferred fires when all have stopped.

        A child whose stop fails is logged; the others still stop.
        """
        Service.stopService(self)
        ds = [maybeDeferred(s.stopService) for s in reversed(self.services)]

        def logFailures(results: list[tuple[bool, Any]]) -> None:
            for ok, value in results:
                if not ok:
                    _log.failure("a service failed to stop", value)

        return DeferredList(ds, consumeErrors=True).addCallback(logFailures)

    def getServiceNamed(self, name: str) -> IService:
        """The child named ``name``; ``KeyError`` if there is none."""
        return self.namedServices[name]

    def addService(self, service: IService) -> None:
        """Add a child (started at once if this service runs); ``RuntimeError`` on a duplicate
        name."""
        if service.name is not None:
            if service.name in self.namedServices:
                raise RuntimeError(f"cannot have two services named {service.name!r}")
            self.namedServices[service.name] = service
        self.services.append(service)
        if service.parent is not self:
            service.parent = self
        if self.running:
            service.privilegedStartService()
            service.startService()

    def removeService(self, service: IService) -> Deferred[Any] | None:
        """Remove a child, stopping it if this service runs (returns its stop's Deferred)."""
        if service.name is not None:
            self.namedServices.pop(service.name, None)
        self.services.remove(service)
        if service.parent is self:
            service.parent = None
        if self.running:
            return maybeDeferred(service.stopService)
        return None


class Application(MultiService):
    """The root of a program's service tree; ``uid``/``gid`` are the identity to switch to."""

    def __init__(self, name: str, uid: int | None = None, gid: int | None = None) -> None:
        super().__init__()
        self.name = name
        self.uid = uid
        self.gid = gid


class StreamServerEndpointService(Service):
    """Listen on ``endpoint`` with ``factory`` while running.

    Listening starts in ``privilegedStartService`` (so a port below 1024 binds before
    privileges are dropped); ``stopService`` stops listening and returns that Deferred. A listen
    failure is logged and raised by ``startService`` (the exception from the endpoint, e.g.
    ``CannotListenError``), so a program fails to start instead of running deaf.
    ``whenListening`` fires with the listening port.
    """

    def __init__(self, endpoint: Any, factory: Any) -> None:
        self.endpoint = endpoint
        self.factory = factory
        self.port: Any = None
        self._waiting: Deferred[Any] | None = None
        self._failure: Failure | None = None
        self._listeners: list[Deferred[Any]] = []
        self.connections: set[Any] = set()
        self._drainWaiters: list[Deferred[None]] = []

    def privilegedStartService(self) -> None:
        """Start listening now."""
        if self._waiting is not None:
            return
        tracking = _TrackingFactory(self.factory, self.connections.add, self._connectionGone)
        self._waiting = self.endpoint.listen(tracking)
        self._waiting.addCallbacks(self._listened, self._listenFailed)

    def _listened(self, port: Any) -> None:
        self.port = port
        host = port.getHost()
        where = f"{host.host}:{host.port}" if hasattr(host, "port") else str(host)
        _log.info("Listening on {where}", where=where, port=port)
        listeners, self._listeners = self._listeners, []
        for d in listeners:
            d.callback(port)

    def _listenFailed(self, failure: Failure) -> None:
        self._failure = failure
        _log.failure("cannot listen on {endpoint!r}", failure, endpoint=self.endpoint)
        listeners, self._listeners = self._listeners, []
        for d in listeners:
            d.errback(failure)

    def _connectionGone(self, protocol: Any) -> None:
        self.connections.discard(protocol)
        if not self.connections:
            waiters, self._drainWaiters = self._drainWaiters, []
            for d in waiters:
                if not d.called:  # a waiter may have been cancelled
                    d.callback(None)

    def whenDrained(self) -> Deferred[None]:
        """A Deferred firing once no connection accepted by this service is open (for a
        graceful stop: stop listening, then wait for this with a deadline)."""
        if not self.connections:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._drainWaiters.append(d)
        return d

    def whenListening(self) -> Deferred[Any]:
        """A Deferred firing with the listening port (or failing as listening failed)."""
        if self.port is not None:
            return succeed(self.port)
        d: Deferred[Any] = Deferred()
        if self._failure is not None:
            d.errback(self._failure)
        else:
            self._listeners.append(d)
        return d

    def startService(self) -> Deferred[Any] | None:
        """Listen (if ``privilegedStartService`` did not); raise if listening failed."""
        Service.startService(self)
        self.privilegedStartService()
        if self._failure is not None:
            self._failure.raiseException()
        return None

    def stopService(self) -> Deferred[Any]:
        """Stop listening; the Deferred fires once the port is closed."""
        Service.stopService(self)
        waiting, self._waiting = self._waiting, None
        if self.port is not None:
            port, self.port = self.port, None
            return maybeDeferred(port.stopListening)
        if waiting is not None and not waiting.called:
            waiting.cancel()
        return succeed(None)


class TimerService(Service):
    """Call ``callable(*args, **kwargs)`` every ``step`` seconds on ``clock`` while running."""

    def __init__(
        self, step: float, callable: Callable[..., object], *args: Any, clock: Any, **kwargs: Any
    ) -> None:
        self.step = step
        self.call = (callable, args, kwargs)
        self.clock = clock
        self._loop: LoopingCall | None = None
        self._done: Deferred[Any] | None = None

    def startService(self) -> Deferred[Any] | None:
        """Start the loop (the first call is now)."""
        Service.startService(self)
        f, args, kwargs = self.call
        self._loop = LoopingCall(f, *args, **kwargs)
        self._loop.clock = self.clock
        self._done = self._loop.start(self.step, now=True)
        self._done.addErrback(self._failed)
        return None

    def _failed(self, failure: Failure) -> None:
        _log.failure("timed call {call!r} failed; timer stopped", failure, call=self.call[0])

    def stopService(self) -> Deferred[Any]:
        """Stop the loop; fires once a call in progress (a Deferred) has finished."""
        Service.stopService(self)
        loop, done = self._loop, self._done
        self._loop = self._done = None
        if loop is not None and loop.running:
            loop.stop()
        return done if done is not None else succeed(None)


def backoffPolicy(
    initialDelay: float = 1.0,
    maxDelay: float = 60.0,
    factor: float = 1.5,
    jitter: Callable[[], float] = random.random,
) -> Callable[[int], float]:
    """A retry policy: ``policy(failedAttempts) -> seconds`` growing by ``factor`` per failure up
    to ``maxDelay``, plus ``jitter()`` seconds (0 to 1 by default) so clients do not stampede."""

    def policy(attempt: int) -> float:
        try:
            delay = initialDelay * factor ** max(attempt - 1, 0)
        except OverflowError:
            delay = maxDelay
        return min(delay, maxDelay) + jitter()

    return policy


class ClientService(Service):
    """Keep a connection up: connect ``endpoint`` with ``factory``, reconnect when it is lost.

    After each failed attempt or lost connection the next attempt waits ``retryPolicy(n)``
    seconds (``n`` failures in a row; default ``backoffPolicy()``, exponential with jitter) on
    ``clock`` (the reactor). ``whenConnected(failAfterFailures=None)`` fires with the connected
    protocol; with ``failAfterFailures=n`` it fails after ``n`` failed attempts in a row.
    ``stopService`` stops retrying and disconnects; pending ``whenConnected`` calls fail with
    ``CancelledError``.
    """

    def __init__(
        self,
        endpoint: Any,
        factory: Any,
        retryPolicy: Callable[[int], float] | None = None,
        *,
        clock: Any,
    ) -> None:
        self.endpoint = endpoint
        self.factory = factory
        self.retryPolicy = retryPolicy if retryPolicy is not None else backoffPolicy()
        self.clock = clock
        self._protocol: Any = None
        self._attempt: Deferred[Any] | None = None
        self._retry: Any = None
        self._failures = 0
        self._waiters: list[tuple[Deferred[Any], int | None]] = []
        self._stopped: Deferred[Any] | None = None

    def startService(self) -> Deferred[Any] | None:
        """Connect now."""
        Service.startService(self)
        self._connect()
        return None

    def _connect(self) -> None:
        self._retry = None
        wrapper = _LossNotifyingFactory(self.factory, self._lost)
        self._attempt = self.endpoint.connect(wrapper)
        self._attempt.addCallbacks(self._connected, self._attemptFailed)

    def _connected(self, protocol: Any) -> None:
        self._attempt = None
        self._failures = 0
        self._protocol = protocol
        waiters, self._waiters = self._waiters, []
        for d, _ in waiters:
            d.callback(protocol)

    def _attemptFailed(self, failure: Failure) -> None:
        self._attempt = None
        if not self.running:
            return
        self._failures += 1
        _log.info(
            "connecting to {endpoint!r} failed ({why}); retrying",
            endpoint=self.endpoint,
            why=failure.getErrorMessage(),
        )
        keep: list[tuple[Deferred[Any], int | None]] = []
        for d, limit in self._waiters:
            if limit is not None and self._failures >= limit:
                d.errback(failure)
            else:
                keep.append((d, limit))
        self._waiters = keep
        self._scheduleRetry()

    def _scheduleRetry(self) -> None:
        self._retry = self.clock.callLater(self.retryPolicy(max(self._failures, 1)), self._connect)

    def _lost(self, reason: Any) -> None:
        self._protocol = None
        if self._stopped is not None:
            stopped, self._stopped = self._stopped, None
            stopped.callback(None)
            return
        if self.running:
            self._failures = 0
            self._scheduleRetry()

    def whenConnected(self, failAfterFailures: int | None = None) -> Deferred[Any]:
        """A Deferred of the connected protocol (see the class docstring)."""
        if self._protocol is not None:
            return succeed(self._protocol)
        d: Deferred[Any] = Deferred()
        self._waiters.append((d, failAfterFailures))
        return d

    def stopService(self) -> Deferred[Any]:
        """Stop retrying, cancel an attempt, disconnect; fires once disconnected."""
        from plait.defer import CancelledError

        Service.stopService(self)
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._attempt is not None:
            attempt, self._attempt = self._attempt, None
            attempt.cancel()
        waiters, self._waiters = self._waiters, []
        for d, _ in waiters:
            d.errback(CancelledError("the ClientService stopped"))
        if self._protocol is None:
            return succeed(None)
        stopped: Deferred[Any] = Deferred()
        self._stopped = stopped
        self._protocol.transport.loseConnection()
        return stopped


class _TrackingFactory:
    """Wraps a server factory to see each protocol it builds come and go (no per-byte cost:
    only ``connectionLost`` is wrapped, not the protocol)."""

    def __init__(
        self, factory: Any, onMade: Callable[[Any], None], onGone: Callable[[Any], None]
    ) -> None:
        self._factory = factory
        self._onMade = onMade
        self._onGone = onGone

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory, name)

    def __repr__(self) -> str:
        return repr(self._factory)

    def buildProtocol(self, addr: Any) -> Any:
        protocol = self._factory.buildProtocol(addr)
        if protocol is None:
            return None
        original = protocol.connectionLost
        onGone = self._onGone

        def connectionLost(reason: Any) -> None:
            try:
                original(reason)
            finally:
                onGone(protocol)

        try:
            protocol.connectionLost = connectionLost
        except AttributeError:  # a protocol with __slots__: not tracked
            return protocol
        self._onMade(protocol)
        return protocol


class _LossNotifyingFactory:
    """Wraps a factory so the service hears when the protocol it built loses its connection."""

    def __init__(self, factory: Any, onLost: Callable[[Any], None]) -> None:
        self._factory = factory
        self._onLost = onLost

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory, name)

    def buildProtocol(self, addr: Any) -> Any:
        protocol = self._factory.buildProtocol(addr)
        if protocol is None:
            return None
        original = protocol.connectionLost
        onLost = self._onLost

        def connectionLost(reason: Any) -> None:
            try:
                original(reason)
            finally:
                onLost(reason)

        protocol.connectionLost = connectionLost
        return protocol
