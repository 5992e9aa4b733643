"""``MemoryReactor``: a reactor that records what it was asked to do and does no I/O."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, ParamSpec

from ..defer import Deferred, fail, succeed
from ..protocol import DNSLookupError, IPv4Address, IPv6Address, UNIXAddress
from ._clock import Clock

__all__ = ["FakeConnector", "FakePort", "MemoryReactor", "MemoryReactorClock"]

_P = ParamSpec("_P")
Address = IPv4Address | IPv6Address | UNIXAddress
Phase = Literal["before", "during", "after"]
_Trigger = tuple[Callable[..., object], tuple[object, ...], dict[str, object]]


def _isIPv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host.split("%", 1)[0]), ipaddress.IPv6Address)
    except ValueError:
        return False


def _ipAddress(kind: Literal["TCP", "UDP"], host: str, port: int) -> IPv4Address | IPv6Address:
    if _isIPv6(host):
        return IPv6Address(kind, host, port)
    return IPv4Address(kind, host or "0.0.0.0", port)


class FakePort:
    """The listening port a ``MemoryReactor`` returns: it only records being stopped."""

    def __init__(self, address: Address, factory: Any = None) -> None:
        self.address = address
        self.factory = factory
        self.listening = True
        self.stopped = False

    def getHost(self) -> Address:
        """The address the port pretends to listen on."""
        return self.address

    def startListening(self) -> None:
        """Pretend to listen again."""
        self.listening = True

    def stopListening(self) -> Deferred[None]:
        """Record the stop; returns an already fired Deferred."""
        self.listening = False
        self.stopped = True
        return succeed(None)

    loseConnection = stopListening

    def __repr__(self) -> str:
        return f"<FakePort {self.address}>"


class FakeConnector:
    """The connector a ``MemoryReactor`` returns for ``connect*``: it only records requests."""

    def __init__(self, address: Address, factory: Any = None) -> None:
        self.address = address
        self.factory = factory
        self.state = "connecting"
        self.stoppedConnecting = False
        self.disconnected = False
        self.connectCount = 0

    def getDestination(self) -> Address:
        """The address it pretends to connect to."""
        return self.address

    def stopConnecting(self) -> None:
        """Record the request to stop connecting."""
        self.stoppedConnecting = True
        self.state = "disconnected"

    def disconnect(self) -> None:
        """Record the request to disconnect."""
        self.disconnected = True
        self.state = "disconnected"

    def connect(self) -> None:
        """Record a (re)connection attempt."""
        self.connectCount += 1
        self.state = "connecting"

    def __repr__(self) -> str:
        return f"<FakeConnector {self.address} {self.state}>"


class MemoryReactor:
    """A reactor fake: ``listen*``/``connect*``/``adopt*`` calls are appended to lists.

    ``tcpServers`` holds ``(port, factory, backlog, interface)``; ``tcpClients`` holds
    ``(host, port, factory, timeout, bindAddress)``; ``unixServers``
    ``(address, factory, backlog, mode, wantPID)``; ``unixClients``
    ``(address, factory, timeout, checkPID)``; ``udpServers``
    ``(port, protocol, interface, maxPacketSize)``; ``sslServers``
    ``(port, factory, contextFactory, backlog, interface)``; ``sslClients``
    ``(host, port, factory, contextFactory, timeout, bindAddress)``; ``adoptedPorts``
    ``(fileno, addressFamily, factory)``. Connectors (which ``factory.startedConnecting`` also
    receives) are in ``connectors``. No connection is ever made: a test builds the protocol from
    the recorded factory and gives it a ``StringTransport`` (or uses ``plait.testing.connect``).

    ``run()`` fires the ``startup`` event, runs the ``callWhenRunning`` hooks and then stops
    (firing ``shutdown``): there is no loop to wait in.
    """

    def __init__(self) -> None:
        self.tcpServers: list[tuple[int, Any, int, str]] = []
        self.tcpClients: list[tuple[str, int, Any, float, tuple[str, int] | None]] = []
        self.unixServers: list[tuple[str, Any, int, int, int]] = []
        self.unixClients: list[tuple[str, Any, float, int]] = []
        self.udpServers: list[tuple[int, Any, str, int]] = []
        self.sslServers: list[tuple[int, Any, Any, int, str]] = []
        self.sslClients: list[tuple[str, int, Any, Any, float, tuple[str, int] | None]] = []
        self.adoptedPorts: list[tuple[int, socket.AddressFamily, Any]] = []
        self.adoptedStreamConnections: list[tuple[int, socket.AddressFamily, Any]] = []
        self.adoptedDatagramPorts: list[tuple[int, socket.AddressFamily, Any, int]] = []
        self.connectors: list[FakeConnector] = []
        self.ports: list[FakePort] = []
        self.readers: set[Any] = set()
        self.writers: set[Any] = set()
        self.whenRunningHooks: list[_Trigger] = []
        self.triggers: dict[str, dict[str, list[_Trigger]]] = {}
        self.firedEvents: list[str] = []
        self.running = False
        self.hasRun = False
        self.hasStopped = False
        self.hasCrashed = False

    # -- IReactorCore ------------------------------------------------------------------------

    def run(self, installSignalHandlers: bool = True) -> None:
        """Fire 'startup', run the ``callWhenRunning`` hooks, then ``stop()``."""
        if self.running:
            raise RuntimeError("MemoryReactor is already running")
        self.running = True
        self.hasRun = True
        self.fireSystemEvent("startup")
        hooks, self.whenRunningHooks = self.whenRunningHooks, []
        for f, args, kw in hooks:
            f(*args, **kw)
        self.stop()

    def stop(self) -> None:
        """Record the stop (``hasStopped``) and fire 'shutdown' the first time."""
        self.running = False
        if not self.hasStopped:
            self.hasStopped = True
            self.fireSystemEvent("shutdown")

    def crash(self) -> None:
        """Record the crash (``hasCrashed``); no triggers run."""
        self.running = False
        self.hasCrashed = True

    def iterate(self, delay: float = 0) -> None:
        """Nothing to do without I/O."""

    def callWhenRunning(
        self, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> None:
        """Call now if running, else keep the call in ``whenRunningHooks`` for ``run()``."""
        if self.running:
            callable(*args, **kw)
        else:
            self.whenRunningHooks.append((callable, args, kw))

    def addSystemEventTrigger(
        self,
        phase: Phase,
        eventType: str,
        callable: Callable[..., object],
        *args: object,
        **kw: object,
    ) -> tuple[str, str, _Trigger]:
        """Record a trigger in ``triggers[phase][eventType]``; returns its ID."""
        if phase not in ("before", "during", "after"):
            raise KeyError(f"no such phase {phase!r}")
        trigger: _Trigger = (callable, args, kw)
        self.triggers.setdefault(phase, {}).setdefault(eventType, []).append(trigger)
        return (phase, eventType, trigger)

    def removeSystemEventTrigger(self, triggerID: Any) -> None:
        """Remove a trigger by the ID ``addSystemEventTrigger`` returned."""
        phase, eventType, trigger = triggerID
        triggers = self.triggers.get(phase, {}).get(eventType, [])
        for i, t in enumerate(triggers):
            if t is trigger:
                del triggers[i]
                return
        raise ValueError(f"no such trigger {triggerID!r}")

    def fireSystemEvent(self, eventType: str) -> None:
        """Run the triggers of ``eventType``, phase by phase (Deferreds are not waited for)."""
        self.firedEvents.append(eventType)
        for phase in ("before", "during", "after"):
            for f, args, kw in list(self.triggers.get(phase, {}).get(eventType, [])):
                f(*args, **kw)

    def resolve(self, name: str, timeout: Any = (1, 3, 11, 45)) -> Deferred[str]:
        """An IP address resolves to itself; any other name fails with ``DNSLookupError``."""
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return fail(DNSLookupError(f"{name}: MemoryReactor resolves no names"))
        return succeed(name)

    # -- IReactorTCP / SSL / UNIX / UDP / Socket -----------------------------------------------

    def _port(self, address: Address, factory: Any) -> FakePort:
        port = FakePort(address, factory)
        self.ports.append(port)
        return port

    def _connector(self, address: Address, factory: Any) -> FakeConnector:
        conn = FakeConnector(address, factory)
        starting = getattr(factory, "startedConnecting", None)
        if starting is not None:
            starting(conn)
        self.connectors.append(conn)
        return conn

    def listenTCP(
        self, port: int, factory: Any, backlog: int = 50, interface: str = ""
    ) -> FakePort:
        """Record the call in ``tcpServers``; returns a ``FakePort``."""
        self.tcpServers.append((port, factory, backlog, interface))
        return self._port(_ipAddress("TCP", interface, port), factory)

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> FakeConnector:
        """Record the call in ``tcpClients``; returns a ``FakeConnector``."""
        self.tcpClients.append((host, port, factory, timeout, bindAddress))
        return self._connector(_ipAddress("TCP", host, port), factory)

    def listenSSL(
        self, port: int, factory: Any, contextFactory: Any, backlog: int = 50, interface: str = ""
    ) -> FakePort:
        """Record the call in ``sslServers``; returns a ``FakePort``."""
        self.sslServers.append((port, factory, contextFactory, backlog, interface))
        return self._port(_ipAddress("TCP", interface, port), factory)

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> FakeConnector:
        """Record the call in ``sslClients``; returns a ``FakeConnector``."""
        self.sslClients.append((host, port, factory, contextFactory, timeout, bindAddress))
        return self._connector(_ipAddress("TCP", host, port), factory)

    def listenUNIX(
        self, address: str, factory: Any, backlog: int = 50, mode: int = 0o666, wantPID: int = 0
    ) -> FakePort:
        """Record the call in ``unixServers``; returns a ``FakePort``."""
        self.unixServers.append((address, factory, backlog, mode, wantPID))
        return self._port(UNIXAddress(address), factory)

    def connectUNIX(
        self, address: str, factory: Any, timeout: float = 30, checkPID: int = 0
    ) -> FakeConnector:
        """Record the call in ``unixClients``; returns a ``FakeConnector``."""
        self.unixClients.append((address, factory, timeout, checkPID))
        return self._connector(UNIXAddress(address), factory)

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> FakePort:
        """Record the call in ``udpServers``; returns a ``FakePort``."""
        self.udpServers.append((port, protocol, interface, maxPacketSize))
        return self._port(_ipAddress("UDP", interface, port), protocol)

    def adoptStreamPort(
        self, fileDescriptor: int, addressFamily: socket.AddressFamily, factory: Any
    ) -> FakePort:
        """Record the call in ``adoptedPorts``; returns a ``FakePort``."""
        self.adoptedPorts.append((fileDescriptor, addressFamily, factory))
        if addressFamily == socket.AF_UNIX:
            return self._port(UNIXAddress(None), factory)
        host = "::" if addressFamily == socket.AF_INET6 else "0.0.0.0"
        return self._port(_ipAddress("TCP", host, 0), factory)

    def adoptStreamConnection(
        self, fileDescriptor: int, addressFamily: socket.AddressFamily, factory: Any
    ) -> None:
        """Record the call in ``adoptedStreamConnections``."""
        self.adoptedStreamConnections.append((fileDescriptor, addressFamily, factory))

    def adoptDatagramPort(
        self,
        fileDescriptor: int,
        addressFamily: socket.AddressFamily,
        protocol: Any,
        maxPacketSize: int = 8192,
    ) -> FakePort:
        """Record the call in ``adoptedDatagramPorts``; returns a ``FakePort``."""
        self.adoptedDatagramPorts.append((fileDescriptor, addressFamily, protocol, maxPacketSize))
        host = "::" if addressFamily == socket.AF_INET6 else "0.0.0.0"
        return self._port(_ipAddress("UDP", host, 0), protocol)

    # -- IReactorFDSet -----------------------------------------------------------------------

    def addReader(self, reader: Any) -> None:
        """Add ``reader`` to ``readers``."""
        self.readers.add(reader)

    def addWriter(self, writer: Any) -> None:
        """Add ``writer`` to ``writers``."""
        self.writers.add(writer)

    def removeReader(self, reader: Any) -> None:
        """Remove ``reader`` from ``readers`` (if there)."""
        self.readers.discard(reader)

    def removeWriter(self, writer: Any) -> None:
        """Remove ``writer`` from ``writers`` (if there)."""
        self.writers.discard(writer)

    def removeAll(self) -> list[Any]:
        """Empty ``readers`` and ``writers``; returns what was in them."""
        everything = list(self.readers | self.writers)
        self.readers.clear()
        self.writers.clear()
        return everything

    def getReaders(self) -> list[Any]:
        """The readers added."""
        return list(self.readers)

    def getWriters(self) -> list[Any]:
        """The writers added."""
        return list(self.writers)


class MemoryReactorClock(MemoryReactor, Clock):
    """A ``MemoryReactor`` that is also a ``Clock``: ``callLater`` plus ``advance``."""

    def __init__(self) -> None:
        MemoryReactor.__init__(self)
        Clock.__init__(self)

    def iterate(self, delay: float = 0) -> None:
        """Run the calls that are due now."""
        self.advance(0)


if TYPE_CHECKING:
    # mypy checks here that the fake keeps up with the reactor interfaces.
    from ..reactor import (
        IReactorCore,
        IReactorFDSet,
        IReactorSocket,
        IReactorTCP,
        IReactorTime,
        IReactorUDP,
        IReactorUNIX,
    )

    def _conforms(
        r: MemoryReactor, rc: MemoryReactorClock
    ) -> tuple[IReactorCore, IReactorTCP, IReactorUNIX, IReactorUDP, IReactorFDSet, IReactorTime]:
        return (r, r, r, r, r, rc)

    def _adopts(r: MemoryReactor) -> IReactorSocket:
        return r
