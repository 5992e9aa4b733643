"""``AsyncioReactor``: plait's reactor on an asyncio event loop (uvloop's when asked for).

Everything a plait reactor offers runs on the loop, so asyncio libraries and plait code share
one thread and one loop:

- TCP and Unix stream sockets, servers and clients (and TLS over them, which is a protocol
  wrapper): plait binds or connects the socket (``CannotListenError``, ``ConnectError``
  subclasses by errno, connect timeouts, ``bindAddress``, Unix socket files and pid locks) and
  hands it to ``loop.create_server`` / ``create_unix_server`` / ``create_connection`` /
  ``create_unix_connection``: every connection's reads and writes run on asyncio's transports
  (uvloop's C code under uvloop; see ``_asyncio_ports`` and ``_asyncio_stream``);
- descriptors (``IReactorFDSet``: UDP ports, processes, fd transports, the waker, signals)
  are watched with ``loop.add_reader``/``add_writer`` and dispatched through the same error
  boundary as the other backends. UDP stays here on purpose: ``stopListening`` frees the port
  number before it returns, but asyncio's datagram transports close their socket a loop turn
  later (uvloop's in libuv, where plait cannot close it first); uvloop's ``UDPTransport`` cannot
  pause reading (``stopReading``); and plait reads up to 64 datagrams per wake-up and
  truncates at ``maxPacketSize``, where asyncio's transport reads one per wake-up into a
  256 KiB buffer. Sends were already one ``sendto`` each. Processes stay here on purpose
  too: ``subprocess_exec`` has only stdin/stdout/stderr, so it cannot give ``spawnProcess``'s
  ``childFDs`` (any child fd mapped to a pipe or to a parent fd) or PTYs, and its child
  watcher would reap the child that plait's pidfd reaper (the same on every backend) waits
  for; the pipes themselves are fd transports on the loop's ``add_reader``/``add_writer``
  (uvloop's C poller under uvloop);
- ``callLater`` keeps plait's ``TimerQueue`` (exact ``DelayedCall`` semantics: ``reset``,
  ``delay``, ``cancel``) and arms one loop timer for its earliest deadline;
- ``callFromThread`` queues the call and pokes the waker, as on the other backends.

Two ways to run:

- ``AsyncioReactor().run()`` makes a new loop, runs it until ``stop()`` has fired 'shutdown',
  then closes the loop (it owns it);
- ``AsyncioReactor(asyncio.get_running_loop())`` attaches to a loop that is already running
  (plait code inside ``asyncio.run(main())``): call ``startRunning()`` to fire 'startup';
  ``stop()`` fires 'shutdown', releases the reactor's descriptors and never stops or closes
  the loop, which belongs to its owner.
"""

from __future__ import annotations

import asyncio
import math
from time import monotonic

from ._asyncio_ports import AsyncioStreamMixin
from ._hosted import HostedReactorBase
from ._posixbase import READ, WRITE

__all__ = ["AsyncioReactor", "UVLoopReactor", "newUVLoop"]

_INF = math.inf


def newUVLoop() -> asyncio.AbstractEventLoop:
    """A new uvloop event loop (``ImportError`` without the ``plait[uvloop]`` extra)."""
    import uvloop

    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class AsyncioReactor(AsyncioStreamMixin, HostedReactorBase):
    """A reactor running on an asyncio event loop (see the module docstring).

    ``eventloop`` is the loop to use; ``None`` makes a new one (owned, closed with the
    reactor).
    """

    def __init__(self, eventloop: asyncio.AbstractEventLoop | None = None) -> None:
        self._ownsLoop = eventloop is None
        self._loop: asyncio.AbstractEventLoop = self._newLoop() if eventloop is None else eventloop
        self._timerHandle: asyncio.TimerHandle | asyncio.Handle | None = None
        self._asyncioConnections = set()
        self._asyncioPorts = set()
        self._asyncioConnecting = {}
        self._uvloop = type(self._loop).__module__.startswith("uvloop")
        super().__init__()

    def _newLoop(self) -> asyncio.AbstractEventLoop:
        """The loop made for a reactor given none (it owns and closes it)."""
        return asyncio.new_event_loop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio event loop the reactor runs on."""
        return self._loop

    # -- descriptors ---------------------------------------------------------------------------

    def _setInterest(self, fd: int, old: int, new: int) -> None:
        loop = self._loop
        if loop.is_closed():
            return
        gone = old & ~new
        added = new & ~old
        try:
            if gone & READ:
                loop.remove_reader(fd)
            if gone & WRITE:
                loop.remove_writer(fd)
        except (OSError, ValueError):
            pass  # the descriptor closed first: the loop has forgotten it already
        if added & READ:
            loop.add_reader(fd, self._readReady, fd)
        if added & WRITE:
            loop.add_writer(fd, self._writeReady, fd)

    def _writeReady(self, fd: int) -> None:
        selectable = self._writers.get(fd)
        if selectable is None:
            self._setInterest(fd, WRITE, 0)  # nobody wants it: stop the noise
            return
        try:
            why = selectable.doWrite()
        except Exception:
            self._writeFailed(selectable)
            return
        if why is not None:
            self._disconnectSelectable(selectable, why, False)

    def doIteration(self, timeout: float | None) -> None:
        """Run the loop once, waiting at most ``timeout`` seconds for something to happen."""
        loop = self._loop
        handle = loop.call_later(timeout, loop.stop) if timeout else None
        if handle is None:
            loop.call_soon(loop.stop)
        try:
            loop.run_forever()
        finally:
            if handle is not None:
                handle.cancel()

    # -- time ----------------------------------------------------------------------------------

    def _armTimer(self, when: float) -> None:
        if not self._started:
            return  # armed by startRunning
        handle = self._timerHandle
        if handle is not None:
            handle.cancel()
        self._timerAt = when
        delay = when - monotonic()
        loop = self._loop
        if delay <= 0.0:
            self._timerHandle = loop.call_soon(self._runTimers)
        else:
            self._timerHandle = loop.call_later(delay, self._runTimers)

    def _runTimers(self) -> None:
        self._timerHandle = None
        self._timerAt = _INF
        timers = self._timers
        timers.runUntil(monotonic(), self._delayedCallFailed)
        deadline = timers.nextDeadline()
        if deadline is not None and deadline < self._timerAt:
            self._armTimer(deadline)

    def _disarmTimer(self) -> None:
        handle = self._timerHandle
        if handle is not None:
            handle.cancel()
        self._timerHandle = None
        self._timerAt = _INF

    # -- running -------------------------------------------------------------------------------

    def run(self, installSignalHandlers: bool = True) -> None:
        """Run the loop until ``stop()`` has fired 'shutdown', then close the reactor (and the
        loop, if the reactor made it)."""
        if self._loop.is_running():
            raise RuntimeError(
                "the asyncio loop is already running: call startRunning() to attach to it"
            )
        self._inRun = True
        try:
            super().run(installSignalHandlers)
        finally:
            self._inRun = False

    def mainLoop(self) -> None:
        """Run the asyncio loop until the reactor stops or crashes."""
        loop = self._loop
        while self._started:
            loop.run_forever()

    def crash(self) -> None:
        """Leave the loop (if ``run`` is running it) without firing 'shutdown'."""
        super().crash()
        self._disarmTimer()
        if self._inRun:
            self._loop.stop()
        elif self._startedBefore and not self._loop.is_closed():
            # Attached to someone else's loop: release our descriptors once shutdown is done.
            self._loop.call_soon(self._closeAttached)

    def disconnectAll(self) -> None:
        """At shutdown: lose every descriptor and every asyncio connection."""
        super().disconnectAll()
        self._disconnectAsyncio()

    def _closeBackend(self) -> None:
        self._disarmTimer()
        super()._closeBackend()
        loop = self._loop
        if self._ownsLoop and not loop.is_closed():
            # Let aborted transports finish closing their sockets (a few callbacks each).
            for _ in range(3):
                loop.call_soon(loop.stop)
                loop.run_forever()
            loop.close()


class UVLoopReactor(AsyncioReactor):
    """``AsyncioReactor`` on a new uvloop loop by default (the ``plait[uvloop]`` extra)."""

    def _newLoop(self) -> asyncio.AbstractEventLoop:
        return newUVLoop()
