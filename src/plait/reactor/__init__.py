"""The reactor: plait's event loop and the services it offers (DESIGN.md §3, §5.1).

Backends (chosen at run time, all passing one conformance suite): ``EPollReactor`` (Linux,
the default there), ``PollReactor``, ``SelectReactor``; ``defaultReactorClass()`` picks the
best available and ``reactorClassNamed('select'|'poll'|'epoll')`` picks by name (also
``'kqueue'`` on BSD/macOS: written to the same contract, never the default). GUI loops:
``TkReactor`` (Tk's ``mainloop``), ``QtReactor`` (PySide6, the ``plait[qt]`` extra) and
``GtkReactor`` (GLib's loop, PyGObject) run plait inside the toolkit's own loop
(``reactorClassNamed('tk'|'qt'|'gtk')``). Each is a
``PosixReactorBase`` (descriptor bookkeeping, ``IReactorFDSet``) on ``ReactorBase`` (running,
system event triggers, ``callLater``, threads, name resolution, signals). There is no global
reactor: make one, ``run()`` it, and a stopped reactor is done (make a new one to run again).
``AsyncioReactor`` (``'asyncio'``) and ``UVLoopReactor`` (``'uvloop'``, the ``plait[uvloop]``
extra) offer the same services on an asyncio event loop: their own, or one already running.

Interfaces (``typing.Protocol``s, Twisted's names): ``IReactorCore``, ``IReactorTime``,
``IReactorTCP``, ``IReactorUNIX``, ``IReactorUNIXDatagram``, ``IReactorSocket``,
``IReactorUDP``, ``IReactorMulticast``, ``IReactorFDSet``, ``IReactorProcess``,
``IReactorThreads``, ``IReactorPluggableResolver``, ``IResolverSimple``,
``IHostnameResolver``, ``IHostResolution``, ``IResolutionReceiver``, ``IReadDescriptor``,
``IWriteDescriptor``, ``IReadWriteDescriptor``, ``IHalfCloseableDescriptor``.

Scheduling (``_time``): ``IDelayedCall``, ``DelayedCall``, ``TimerQueue`` (the ordered queue
of delayed calls shared by every reactor and by ``plait.testing.Clock``).

Processes and descriptors: ``reactor.spawnProcess`` returns a ``Process`` (pipes) or
``PTYProcess`` transport; ``getProcessOutput``, ``getProcessValue``,
``getProcessOutputAndValue`` take the reactor first (``UnexpectedErrorOutput`` when a program
writes to stderr). ``FileDescriptorTransport``/``connectFD`` put a protocol on any descriptor
(a tty, a serial port), ``StandardIO`` on stdin/stdout; their address is ``PipeAddress``.

Threads (§5.1): ``ThreadPool``, ``deferToThread``, ``deferToThreadPool``,
``blockingCallFromThread``, ``callMultipleInThread``. Names: ``GAIResolver`` (getaddrinfo in
the thread pool, the default), ``ComplexResolverSimplifier``, ``SimpleResolverComplexifier``.

Errors:

- ``AlreadyCalled``, ``AlreadyCancelled`` (``ValueError``): changing a delayed call that ran
  or was cancelled.
- ``ReactorNotRunning`` (``RuntimeError``): ``stop()`` on a reactor not running or already
  stopping.
- ``ReactorAlreadyRunning`` (``RuntimeError``): ``run()`` while running.
- ``ReactorNotRestartable`` (``RuntimeError``): ``run()`` after a stop.
- Connection errors (``ConnectionDone``, ``ConnectionLost``, ``DNSLookupError``...) are
  ``plait.protocol``'s.

A user callback that raises (a delayed call, a ``callFromThread`` call, a trigger, a
descriptor's ``doRead``/``doWrite``) is logged with its traceback through ``plait.log`` and
never stops the reactor; ``KeyboardInterrupt`` and ``SystemExit`` pass through.
"""

from ._asyncio import AsyncioReactor, UVLoopReactor
from ._backends import defaultReactorClass, reactorClassNamed, reactorNames
from ._base import ReactorAlreadyRunning, ReactorBase, ReactorNotRestartable, ReactorNotRunning
from ._epoll import EPollReactor
from ._fdtransport import FileDescriptorTransport, PipeAddress, connectFD
from ._gtk import GtkReactor
from ._interfaces import (
    IHalfCloseableDescriptor,
    IHostnameResolver,
    IHostResolution,
    IReactorCore,
    IReactorFDSet,
    IReactorMulticast,
    IReactorPluggableResolver,
    IReactorProcess,
    IReactorSocket,
    IReactorTCP,
    IReactorThreads,
    IReactorUDP,
    IReactorUNIX,
    IReactorUNIXDatagram,
    IReadDescriptor,
    IReadWriteDescriptor,
    IResolutionReceiver,
    IResolverSimple,
    IWriteDescriptor,
)
from ._poll import PollReactor
from ._posixbase import PosixReactorBase
from ._process import Process, PTYProcess
from ._processoutput import (
    UnexpectedErrorOutput,
    getProcessOutput,
    getProcessOutputAndValue,
    getProcessValue,
)
from ._qt import QtReactor
from ._resolver import ComplexResolverSimplifier, GAIResolver, SimpleResolverComplexifier
from ._select import SelectReactor
from ._stdio import StandardIO
from ._threads import (
    ThreadPool,
    blockingCallFromThread,
    callMultipleInThread,
    deferToThread,
    deferToThreadPool,
)
from ._time import (
    AlreadyCalled,
    AlreadyCancelled,
    DelayedCall,
    IDelayedCall,
    IReactorTime,
    TimerQueue,
)
from ._tk import TkReactor

__all__ = [
    "AlreadyCalled",
    "AlreadyCancelled",
    "AsyncioReactor",
    "ComplexResolverSimplifier",
    "DelayedCall",
    "EPollReactor",
    "FileDescriptorTransport",
    "GAIResolver",
    "GtkReactor",
    "IDelayedCall",
    "IHalfCloseableDescriptor",
    "IHostResolution",
    "IHostnameResolver",
    "IReactorCore",
    "IReactorFDSet",
    "IReactorMulticast",
    "IReactorPluggableResolver",
    "IReactorProcess",
    "IReactorSocket",
    "IReactorTCP",
    "IReactorThreads",
    "IReactorTime",
    "IReactorUDP",
    "IReactorUNIX",
    "IReactorUNIXDatagram",
    "IReadDescriptor",
    "IReadWriteDescriptor",
    "IResolutionReceiver",
    "IResolverSimple",
    "IWriteDescriptor",
    "PTYProcess",
    "PipeAddress",
    "PollReactor",
    "PosixReactorBase",
    "Process",
    "QtReactor",
    "ReactorAlreadyRunning",
    "ReactorBase",
    "ReactorNotRestartable",
    "ReactorNotRunning",
    "SelectReactor",
    "SimpleResolverComplexifier",
    "StandardIO",
    "ThreadPool",
    "TimerQueue",
    "TkReactor",
    "UVLoopReactor",
    "UnexpectedErrorOutput",
    "blockingCallFromThread",
    "callMultipleInThread",
    "connectFD",
    "defaultReactorClass",
    "deferToThread",
    "deferToThreadPool",
    "getProcessOutput",
    "getProcessOutputAndValue",
    "getProcessValue",
    "reactorClassNamed",
    "reactorNames",
]
