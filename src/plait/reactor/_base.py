"""``ReactorBase``: what every reactor shares, whatever it polls with.

Running and stopping, system event triggers, delayed calls (on ``_time.TimerQueue``), the
thread pool and ``callFromThread``, name resolution and signal handling. A backend adds
``doIteration(timeout)`` (wait for I/O at most ``timeout`` seconds, ``None`` meaning forever,
and dispatch it) and the ``IReactorFDSet`` methods.

Lifecycle: ``run()`` fires 'startup', loops until ``stop()`` has fired 'shutdown', then closes
the reactor's descriptors. A stopped reactor cannot run again (``ReactorNotRestartable``);
make a new one, there is no process-wide state. ``crash()`` leaves the loop without shutdown,
and a crashed reactor may run again (tests use this).
"""

from __future__ import annotations

import builtins
import threading
from collections import deque
from collections.abc import Callable, Sequence
from time import monotonic
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Literal, ParamSpec

from ..defer import Deferred, Failure, ensureDeferred, succeed
from ..log import Logger
from ._resolver import (
    ComplexResolverSimplifier,
    GAIResolver,
    SimpleResolverComplexifier,
    isIPAddress,
)
from ._signals import SignalHandling
from ._threads import ThreadPool
from ._time import DelayedCall, TimerQueue
from ._waker import Waker

if TYPE_CHECKING:
    from ._interfaces import IHostnameResolver, IResolverSimple

__all__ = [
    "ReactorAlreadyRunning",
    "ReactorBase",
    "ReactorNotRestartable",
    "ReactorNotRunning",
]

_P = ParamSpec("_P")
_Phase = Literal["before", "during", "after"]
_PHASES = ("before", "during", "after")
# The longest single wait: poll/epoll take an int of milliseconds (about 24.8 days at most),
# so a far-off timer must not become a timeout they reject. The loop wakes and waits again.
_MAX_WAIT = 3600.0


class ReactorNotRunning(RuntimeError):
    """``stop()`` was called on a reactor that is not running (or already stopping)."""


class ReactorAlreadyRunning(RuntimeError):
    """``run()`` was called on a reactor that is already running."""


class ReactorNotRestartable(RuntimeError):
    """``run()`` was called on a reactor that was stopped; make a new reactor instead."""


class _Trigger:
    __slots__ = ("args", "callable", "kw")

    def __init__(self, callable: Callable[..., object], args: tuple[Any, ...], kw: dict[str, Any]):
        self.callable = callable
        self.args = args
        self.kw = kw


class _ThreePhaseEvent:
    """The 'before', 'during' and 'after' triggers of one event type.

    'before' triggers may return Deferreds; 'during' runs once they have all fired. Each
    trigger runs once: firing consumes it. A trigger that raises is logged and the rest run.
    """

    def __init__(self, log: Logger) -> None:
        self.phases: dict[str, list[_Trigger]] = {"before": [], "during": [], "after": []}
        self.firing = False  # between the start of 'before' and the end of 'after'
        self._log = log

    def add(self, phase: str, trigger: _Trigger) -> None:
        self.phases[phase].append(trigger)

    def remove(self, phase: str, trigger: _Trigger) -> None:
        try:
            self.phases[phase].remove(trigger)
        except ValueError:
            raise ValueError("trigger not found (already run or removed)") from None

    def _call(self, trigger: _Trigger, eventType: str) -> object:
        try:
            return trigger.callable(*trigger.args, **trigger.kw)
        except Exception:
            self._log.failure(
                "Error in system event trigger {trigger!r} of {eventType!r}",
                trigger=trigger.callable,
                eventType=eventType,
            )
            return None

    def fire(self, eventType: str) -> None:
        if self.firing:
            return
        self.firing = True
        waiting: list[Deferred[Any]] = []
        before = self.phases["before"]
        while before:
            result = self._call(before.pop(0), eventType)
            if isinstance(result, CoroutineType):
                result = ensureDeferred(result)
            if isinstance(result, Deferred):
                waiting.append(result)
        if not waiting:
            self._continue(eventType)
            return
        remaining = [len(waiting)]

        def oneDone(result: object) -> None:
            if isinstance(result, Failure):
                self._log.failure(
                    "Error from a 'before' trigger of {eventType!r}", result, eventType=eventType
                )
            remaining[0] -= 1
            if remaining[0] == 0:
                self._continue(eventType)

        for d in waiting:
            d.addBoth(oneDone)

    def _continue(self, eventType: str) -> None:
        for phase in ("during", "after"):
            triggers = self.phases[phase]
            while triggers:
                self._call(triggers.pop(0), eventType)
        self.firing = False


class ReactorBase:
    """The backend-independent part of a reactor (see the module docstring)."""

    def __init__(self) -> None:
        self._log = Logger("plait.reactor", source=self)
        self._timers = TimerQueue(monotonic)
        if type(self).callLater is ReactorBase.callLater:
            # Hot path: callLater goes straight to the queue, without a forwarding frame
            # (unless a subclass overrides it).
            self.callLater = self._timers.callLater  # type: ignore[method-assign]
        self._threadCallQueue: deque[tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]]
        self._threadCallQueue = deque()
        self._events: dict[str, _ThreePhaseEvent] = {}
        self.running = False
        self._started = False  # the loop is (to be) running
        self._stopped = True  # stop() has been called (or run() never was)
        self._justStopped = False  # stop() called; 'shutdown' fires on the next iteration
        self._startedBefore = False  # stopped once: cannot run again
        self._closed = False
        self._loopThread: int | None = None
        self._threadpool: ThreadPool | None = None
        self._threadpoolShutdownID: Any = None
        self._nameResolver: IHostnameResolver = GAIResolver(self, self.getThreadPool)
        self.resolver: IResolverSimple = ComplexResolverSimplifier(self._nameResolver)
        self.waker = Waker()
        self._signals = SignalHandling(self, self._addInternalReader, self._removeInternalReader)
        self.addSystemEventTrigger("during", "startup", self._reallyStartRunning)
        self.addSystemEventTrigger("during", "shutdown", self.crash)
        self.addSystemEventTrigger("during", "shutdown", self.disconnectAll)

    # -- what a backend provides ---------------------------------------------------------------

    def doIteration(self, timeout: float | None) -> None:
        """Wait for I/O at most ``timeout`` seconds (``None``: until some) and dispatch it."""
        raise NotImplementedError

    def _addInternalReader(self, reader: Any) -> None:
        """Watch one of the reactor's own descriptors (not reported by ``getReaders``)."""
        raise NotImplementedError

    def _removeInternalReader(self, reader: Any) -> None:
        raise NotImplementedError

    def disconnectAll(self) -> None:
        """At shutdown: lose every watched descriptor."""

    def _closeBackend(self) -> None:
        """Release the backend's own resources (the poll object)."""

    # -- running -------------------------------------------------------------------------------

    def run(self, installSignalHandlers: bool = True) -> None:
        """Fire 'startup', run until ``stop()`` has fired 'shutdown', then close the reactor.

        With ``installSignalHandlers`` (and on the main thread), SIGINT and SIGTERM stop the
        reactor; the previous handlers are back when ``run`` returns.
        """
        if self._started:
            raise ReactorAlreadyRunning("the reactor is already running")
        try:
            self.startRunning(installSignalHandlers)
            self.mainLoop()
        finally:
            self._signals.uninstall()
            self._loopThread = None
            if self._startedBefore and not self._started:
                self.close()

    def startRunning(self, installSignalHandlers: bool = True) -> None:
        """Mark the reactor started and fire 'startup' (``run`` without the loop)."""
        if self._started:
            raise ReactorAlreadyRunning("the reactor is already running")
        if self._startedBefore or self._closed:
            raise ReactorNotRestartable("a stopped reactor cannot run again; make a new one")
        self._started = True
        self._stopped = False
        self._loopThread = threading.get_ident()
        if installSignalHandlers:
            self._signals.install()
        self.fireSystemEvent("startup")

    def _reallyStartRunning(self) -> None:
        self.running = True

    def mainLoop(self) -> None:
        """Iterate until the reactor stops or crashes; errors are logged, not raised."""
        while self._started:
            try:
                while self._started:
                    self._iterate(None)
            except Exception:
                self._log.failure("Unexpected error in the main loop")

    def _iterate(self, maxDelay: float | None) -> None:
        # The hot path: thread calls, shutdown, due timers, then one wait for I/O.
        queue = self._threadCallQueue
        if queue:
            self._runThreadCalls()
        if self._justStopped:
            self._justStopped = False
            self.fireSystemEvent("shutdown")
            if not self._started:
                return
        timers = self._timers
        deadline = timers.nextDeadline()
        if deadline is not None:
            now = monotonic()
            if deadline <= now:
                timers.runUntil(now, self._delayedCallFailed)
                deadline = timers.nextDeadline()
        if queue or self._justStopped or not self._started:
            timeout: float | None = 0.0
        elif deadline is None:
            timeout = maxDelay
        else:
            timeout = deadline - monotonic()
            if timeout < 0.0:
                timeout = 0.0
            if maxDelay is not None and maxDelay < timeout:
                timeout = maxDelay
            elif timeout > _MAX_WAIT:
                timeout = _MAX_WAIT
        self.doIteration(timeout)

    def iterate(self, delay: float = 0) -> None:
        """One iteration: thread calls and due timers, then wait for I/O at most ``delay``."""
        self._iterate(min(_MAX_WAIT, max(0.0, float(delay))))

    def _runThreadCalls(self) -> None:
        # Only the calls queued now: a call that queues another cannot starve I/O.
        queue = self._threadCallQueue
        popleft = queue.popleft
        for _ in range(len(queue)):
            f, args, kw = popleft()
            try:
                f(*args, **kw)
            except Exception:
                self._log.failure("Unhandled error in a callFromThread call {f!r}", f=f)

    def _delayedCallFailed(self, call: DelayedCall, error: Exception) -> None:
        self._log.failure("Unhandled error in delayed call {call!r}", Failure(error), call=call)

    def stop(self) -> None:
        """Fire 'shutdown' on the next iteration and leave the loop when it is done.

        Raises ``ReactorNotRunning`` if the reactor is not running or already stopping.
        """
        if self._stopped:
            raise ReactorNotRunning("can't stop a reactor that isn't running")
        self._stopped = True
        self._justStopped = True
        self._startedBefore = True
        self.waker.wakeUp()  # in case stop() came from another thread

    def crash(self) -> None:
        """Leave the loop after this iteration without firing 'shutdown'."""
        self._started = False
        self.running = False
        self.addSystemEventTrigger("during", "startup", self._reallyStartRunning)

    def sigInt(self, signum: int = 2) -> None:
        """SIGINT arrived: stop (once)."""
        self._log.info("Received SIGINT, shutting down.")
        self._stopFromSignal()

    def sigTerm(self, signum: int = 15) -> None:
        """SIGTERM arrived: stop (once)."""
        self._log.info("Received SIGTERM, shutting down.")
        self._stopFromSignal()

    def sigBreak(self, signum: int = 21) -> None:
        """SIGBREAK arrived (Windows): stop (once)."""
        self._log.info("Received SIGBREAK, shutting down.")
        self._stopFromSignal()

    def _stopFromSignal(self) -> None:
        if not self._stopped:
            self.stop()

    def close(self) -> None:
        """Release the reactor's descriptors and threads (done by ``run`` after a stop)."""
        if self._closed:
            return
        if self._started:
            raise RuntimeError("cannot close a running reactor")
        self._closed = True
        self._stopThreadPool()
        self._closeBackend()
        self.waker.close()

    # -- system events -------------------------------------------------------------------------

    def addSystemEventTrigger(
        self,
        phase: _Phase,
        eventType: str,
        callable: Callable[..., object],
        *args: object,
        **kw: object,
    ) -> Any:
        """Call ``callable(*args, **kw)`` in ``phase`` of ``eventType``; returns a trigger ID.

        ``phase`` is 'before', 'during' or 'after'; the reactor fires 'startup' and
        'shutdown'. A 'before' trigger may return a Deferred (or be a coroutine function):
        'during' waits for it.
        """
        if phase not in _PHASES:
            raise ValueError(f"phase must be 'before', 'during' or 'after', not {phase!r}")
        if not builtins.callable(callable):
            raise TypeError(f"{callable!r} is not callable")
        trigger = _Trigger(callable, args, kw)
        event = self._events.get(eventType)
        if event is None:
            event = self._events[eventType] = _ThreePhaseEvent(self._log)
        event.add(phase, trigger)
        return (eventType, phase, trigger)

    def removeSystemEventTrigger(self, triggerID: Any) -> None:
        """Remove a trigger; ``ValueError`` if it already ran or the ID is not one."""
        try:
            eventType, phase, trigger = triggerID
            event = self._events[eventType]
        except (TypeError, ValueError, KeyError):
            raise ValueError(f"not a trigger ID: {triggerID!r}") from None
        event.remove(phase, trigger)

    def fireSystemEvent(self, eventType: str) -> None:
        """Run the triggers of ``eventType``: 'before', then (once its Deferreds fired)
        'during' and 'after'."""
        event = self._events.get(eventType)
        if event is not None:
            event.fire(eventType)

    def callWhenRunning(
        self, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> Any | None:
        """Call now if the reactor is running, else once it has started (trigger ID)."""
        if self.running:
            callable(*args, **kw)
            return None
        return self.addSystemEventTrigger("after", "startup", callable, *args, **kw)

    # -- time ----------------------------------------------------------------------------------

    def seconds(self) -> float:
        """The reactor's clock: ``time.monotonic()``."""
        return monotonic()

    def callLater(
        self, delay: float, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> DelayedCall:
        """Call ``callable(*args, **kw)`` in ``delay`` seconds; an exception from it is logged."""
        return self._timers.callLater(delay, callable, *args, **kw)

    def getDelayedCalls(self) -> list[DelayedCall]:
        """The pending delayed calls."""
        return self._timers.getDelayedCalls()

    # -- threads -------------------------------------------------------------------------------

    def callFromThread(
        self, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> None:
        """Run ``callable`` on the loop thread at its next iteration; safe from any thread
        and from signal handlers. An exception from it is logged."""
        self._threadCallQueue.append((callable, args, kw))
        self.waker.wakeUp()

    def getThreadPool(self) -> ThreadPool:
        """The reactor's pool, started on first use and stopped (joined) at shutdown."""
        pool = self._threadpool
        if pool is None:
            if self._closed:
                raise RuntimeError("the reactor is closed: its thread pool is gone")
            pool = self._threadpool = ThreadPool(0, 10, f"plait-reactor-{id(self):x}")
            self._threadpoolShutdownID = self.addSystemEventTrigger(
                "during", "shutdown", self._stopThreadPool
            )
            pool.start()
        return pool

    def _stopThreadPool(self) -> None:
        pool = self._threadpool
        if pool is None:
            return
        self._threadpool = None
        if self._threadpoolShutdownID is not None:
            try:
                self.removeSystemEventTrigger(self._threadpoolShutdownID)
            except ValueError:
                pass  # we are that trigger, running now
            self._threadpoolShutdownID = None
        # Join the workers while serving their callFromThread calls: a worker blocked in
        # blockingCallFromThread must be able to finish.
        for thread in pool._requestStop():
            while thread.is_alive():
                self._runThreadCalls()
                thread.join(0.002)

    def callInThread(self, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs) -> None:
        """Run ``callable`` in the reactor's thread pool."""
        self.getThreadPool().callInThread(callable, *args, **kw)

    def suggestThreadPoolSize(self, size: int) -> None:
        """Let the thread pool grow to ``size`` threads."""
        self.getThreadPool().adjustPoolsize(maxthreads=size)

    # -- name resolution -----------------------------------------------------------------------

    @property
    def nameResolver(self) -> IHostnameResolver:
        """The ``IHostnameResolver`` used to connect and by ``resolve``."""
        return self._nameResolver

    def installResolver(self, resolver: IResolverSimple) -> IResolverSimple:
        """Use a simple resolver from now on; returns the previous one."""
        previous = self.resolver
        self.resolver = resolver
        self._nameResolver = SimpleResolverComplexifier(resolver)
        return previous

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        """Use a host-name resolver from now on; returns the previous one."""
        previous = self._nameResolver
        self._nameResolver = resolver
        self.resolver = ComplexResolverSimplifier(resolver)
        return previous

    def resolve(self, name: str, timeout: Sequence[int] = (1, 3, 11, 45)) -> Deferred[str]:
        """An IP address for ``name`` (IPv4 preferred), resolved off the loop thread.

        Fails with ``DNSLookupError`` if the name does not resolve.
        """
        if not name:
            return succeed("0.0.0.0")
        if isIPAddress(name):
            return succeed(name)
        return self.resolver.getHostByName(name, timeout)

    def __repr__(self) -> str:
        state = "running" if self.running else ("closed" if self._closed else "idle")
        return f"<{type(self).__name__} {state} at 0x{id(self):x}>"
