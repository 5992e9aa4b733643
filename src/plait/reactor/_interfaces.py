"""The reactor's interfaces: what an event loop offers, one ``IReactor*`` per service.

Each is a ``typing.Protocol`` with Twisted's method names and argument orders, so code written
against a narrow interface (``IReactorTime``, ``IReactorTCP``...) accepts any reactor, the
testing fakes included. UDP, multicast, Unix datagrams and processes are declared here and
implemented by later backends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, Protocol, runtime_checkable

from ._time import IReactorTime

if TYPE_CHECKING:
    import socket

    from ..defer import Deferred, Failure
    from ..protocol import IPv4Address, IPv6Address

__all__ = [
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
]

_P = ParamSpec("_P")


@runtime_checkable
class IReactorCore(Protocol):
    """Running and stopping the loop, system event triggers and name resolution."""

    @property
    def running(self) -> bool:
        """True from the end of the startup event until shutdown begins."""
        ...

    def run(self, installSignalHandlers: bool = True) -> None:
        """Fire 'startup', run the loop until ``stop()`` has fired 'shutdown'."""
        ...

    def stop(self) -> None:
        """Fire 'shutdown' and leave the loop; ``ReactorNotRunning`` if it is not running."""
        ...

    def crash(self) -> None:
        """Leave the loop at once, without firing 'shutdown' (for tests)."""
        ...

    def iterate(self, delay: float = 0) -> None:
        """Run one iteration: due timers, thread calls and I/O, waiting at most ``delay``."""
        ...

    def callWhenRunning(
        self, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> Any | None:
        """Call now if the reactor runs, else once it has started; a trigger ID or None."""
        ...

    def addSystemEventTrigger(
        self,
        phase: Literal["before", "during", "after"],
        eventType: str,
        callable: Callable[..., object],
        *args: object,
        **kw: object,
    ) -> Any:
        """Call ``callable`` in ``phase`` of ``eventType``; returns an ID for removal."""
        ...

    def removeSystemEventTrigger(self, triggerID: Any) -> None:
        """Remove a trigger added by ``addSystemEventTrigger``."""
        ...

    def fireSystemEvent(self, eventType: str) -> None:
        """Run the 'before', 'during' and 'after' triggers of ``eventType``."""
        ...

    def resolve(self, name: str, timeout: Sequence[int] = (1, 3, 11, 45)) -> Deferred[str]:
        """Resolve a host name to one IP address (a dotted quad for IPv4)."""
        ...


@runtime_checkable
class IReactorTCP(Protocol):
    """TCP servers and clients."""

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        """Listen on ``port`` (0 picks one); returns an ``IListeningPort``."""
        ...

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> Any:
        """Connect to ``host:port`` with a ``ClientFactory``; returns an ``IConnector``."""
        ...


@runtime_checkable
class IReactorUNIX(Protocol):
    """Unix stream sockets."""

    def listenUNIX(
        self,
        address: str,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: int = 0,
    ) -> Any:
        """Listen on the socket path ``address``; returns an ``IListeningPort``."""
        ...

    def connectUNIX(
        self, address: str, factory: Any, timeout: float = 30, checkPID: int = 0
    ) -> Any:
        """Connect to the socket path ``address``; returns an ``IConnector``."""
        ...


@runtime_checkable
class IReactorUNIXDatagram(Protocol):
    """Unix datagram sockets."""

    def listenUNIXDatagram(
        self, address: str, protocol: Any, maxPacketSize: int = 8192, mode: int = 0o666
    ) -> Any:
        """Receive datagrams on the socket path ``address``."""
        ...

    def connectUNIXDatagram(
        self,
        address: str,
        protocol: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        bindAddress: str | None = None,
    ) -> Any:
        """Send datagrams to the socket path ``address``."""
        ...


@runtime_checkable
class IReactorSocket(Protocol):
    """Adopting sockets created elsewhere (inherited, passed over a Unix socket...)."""

    def adoptStreamPort(
        self, fileDescriptor: int, addressFamily: socket.AddressFamily, factory: Any
    ) -> Any:
        """Listen on an already listening stream socket; the reactor dups the fd."""
        ...

    def adoptStreamConnection(
        self, fileDescriptor: int, addressFamily: socket.AddressFamily, factory: Any
    ) -> None:
        """Serve an already connected stream socket with a protocol from ``factory``."""
        ...

    def adoptDatagramPort(
        self,
        fileDescriptor: int,
        addressFamily: socket.AddressFamily,
        protocol: Any,
        maxPacketSize: int = 8192,
    ) -> Any:
        """Receive datagrams on an already bound datagram socket."""
        ...


@runtime_checkable
class IReactorUDP(Protocol):
    """UDP."""

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> Any:
        """Bind a ``DatagramProtocol`` to ``port``; returns the listening port."""
        ...


@runtime_checkable
class IReactorMulticast(Protocol):
    """UDP multicast."""

    def listenMulticast(
        self,
        port: int,
        protocol: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        listenMultiple: bool = False,
    ) -> Any:
        """Bind a multicast-capable ``DatagramProtocol`` to ``port``."""
        ...


@runtime_checkable
class IReactorProcess(Protocol):
    """Running child processes."""

    def spawnProcess(
        self,
        processProtocol: Any,
        executable: bytes | str,
        args: Sequence[bytes | str] = (),
        env: Mapping[str, str] | None = {},
        path: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: bool | tuple[int, int, str] = False,
        childFDs: Mapping[int, int | str] | None = None,
    ) -> Any:
        """Start ``executable`` with ``args``; events go to ``processProtocol``."""
        ...


@runtime_checkable
class IReactorThreads(Protocol):
    """Running blocking code in threads and getting back onto the loop thread."""

    def getThreadPool(self) -> Any:
        """The reactor's thread pool (started on first use, stopped at shutdown)."""
        ...

    def callInThread(self, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs) -> None:
        """Run ``callable`` in the thread pool."""
        ...

    def callFromThread(
        self, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> None:
        """Run ``callable`` on the loop thread soon; safe from any thread and signal handler."""
        ...

    def suggestThreadPoolSize(self, size: int) -> None:
        """Let the thread pool grow to ``size`` threads."""
        ...


@runtime_checkable
class IResolverSimple(Protocol):
    """Resolve a name to one address."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ...) -> Deferred[str]:
        """Fire with an IP address for ``name`` or fail with ``DNSLookupError``."""
        ...


@runtime_checkable
class IHostResolution(Protocol):
    """One resolution in progress."""

    name: str

    def cancel(self) -> None:
        """Stop the resolution: no more addresses are delivered."""
        ...


@runtime_checkable
class IResolutionReceiver(Protocol):
    """Where an ``IHostnameResolver`` delivers addresses, on the loop thread."""

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        """The resolution started."""
        ...

    def addressResolved(self, address: IPv4Address | IPv6Address) -> None:
        """One address was found."""
        ...

    def resolutionComplete(self) -> None:
        """No more addresses will come (none at all means the name did not resolve)."""
        ...


@runtime_checkable
class IHostnameResolver(Protocol):
    """Resolve a name to every address, for connecting (happy eyeballs and friends)."""

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IPv4Address] | type[IPv6Address]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """Start resolving ``hostName``; results go to ``resolutionReceiver``."""
        ...


@runtime_checkable
class IReactorPluggableResolver(Protocol):
    """Replacing the reactor's name resolvers."""

    @property
    def nameResolver(self) -> IHostnameResolver:
        """The resolver used for connecting and by ``resolve``."""
        ...

    def installResolver(self, resolver: IResolverSimple) -> IResolverSimple:
        """Use ``resolver`` from now on; returns the previous simple resolver."""
        ...

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        """Use ``resolver`` from now on; returns the previous one."""
        ...


@runtime_checkable
class IReadDescriptor(Protocol):
    """A file descriptor the reactor watches for readability."""

    def fileno(self) -> int:
        """The descriptor (-1 once closed)."""
        ...

    def doRead(self) -> BaseException | Failure | None:
        """Data (or EOF/an error) is ready; return a reason to lose the descriptor."""
        ...

    def connectionLost(self, reason: Failure) -> None:
        """The reactor stopped watching this descriptor because of ``reason``."""
        ...

    def logPrefix(self) -> str:
        """A short name for log lines."""
        ...


@runtime_checkable
class IWriteDescriptor(Protocol):
    """A file descriptor the reactor watches for writability."""

    def fileno(self) -> int:
        """The descriptor (-1 once closed)."""
        ...

    def doWrite(self) -> BaseException | Failure | None:
        """Room to write; return a reason to lose the descriptor."""
        ...

    def connectionLost(self, reason: Failure) -> None:
        """The reactor stopped watching this descriptor because of ``reason``."""
        ...

    def logPrefix(self) -> str:
        """A short name for log lines."""
        ...


@runtime_checkable
class IReadWriteDescriptor(IReadDescriptor, IWriteDescriptor, Protocol):
    """A descriptor watched both ways (a socket)."""


@runtime_checkable
class IHalfCloseableDescriptor(Protocol):
    """A descriptor that can lose its read side alone.

    When ``doRead`` returns ``ConnectionDone`` the reactor calls ``readConnectionLost`` (and
    keeps watching for writability) instead of ``connectionLost``.
    """

    def readConnectionLost(self, reason: Failure) -> None:
        """The read side reached EOF; writing may go on."""
        ...


@runtime_checkable
class IReactorFDSet(Protocol):
    """Watching arbitrary file descriptors (generic fd support, §3)."""

    def addReader(self, reader: IReadDescriptor) -> None:
        """Call ``reader.doRead()`` whenever its descriptor is readable."""
        ...

    def addWriter(self, writer: IWriteDescriptor) -> None:
        """Call ``writer.doWrite()`` whenever its descriptor is writable."""
        ...

    def removeReader(self, reader: IReadDescriptor) -> None:
        """Stop watching ``reader`` for readability (no error if it was not watched)."""
        ...

    def removeWriter(self, writer: IWriteDescriptor) -> None:
        """Stop watching ``writer`` for writability (no error if it was not watched)."""
        ...

    def removeAll(self) -> list[IReadDescriptor | IWriteDescriptor]:
        """Stop watching everything (but the reactor's own waker); returns what was watched."""
        ...

    def getReaders(self) -> list[IReadDescriptor]:
        """The watched readers (not the reactor's own waker)."""
        ...

    def getWriters(self) -> list[IWriteDescriptor]:
        """The watched writers."""
        ...
