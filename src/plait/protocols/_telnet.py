"""Telnet adapters over ``plait.wire.telnet``: ``TelnetProtocol`` and ``TelnetTransport``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from plait.defer import Deferred, Failure, fail
from plait.log import Logger
from plait.protocol import Protocol
from plait.wire.telnet import (
    NAWS,
    TTYPE,
    TTYPE_IS,
    TTYPE_SEND,
    CommandReceived,
    DataReceived,
    OptionStateChanged,
    SubnegotiationReceived,
    SubnegotiationTooLong,
    TelnetMachine,
    parseNAWS,
)

__all__ = ["OptionRefusedError", "TelnetProtocol", "TelnetTransport"]

_log = Logger(namespace="plait.protocols.telnet")


class OptionRefusedError(Exception):
    """The peer refused (or, later, turned off) an option we asked for."""


class TelnetProtocol(Protocol):
    """A Telnet connection: negotiation handled, application events as methods.

    Override ``applicationDataReceived(data)`` (clean bytes), ``commandReceived(command)``,
    ``telnet_NAWS(width, height)``, ``terminalType(name)``, ``optionChanged(option, local,
    enabled)``. ``enableLocal``/``enableRemote``/``disableLocal``/``disableRemote`` return
    Deferreds that fire when the negotiation settles (``OptionRefusedError`` if it ends the
    other way) or fail with ``plait.defer.TimeoutError`` after ``negotiationTimeout`` seconds
    on ``clock`` (when a clock is set). ``acceptLocal``/``acceptRemote`` list the options the
    peer may turn on unasked; NAWS and TTYPE are handled here once the peer enables them.
    """

    acceptLocal: frozenset[int] = frozenset()
    acceptRemote: frozenset[int] = frozenset({NAWS, TTYPE})
    maxSubnegotiation = 1024
    negotiationTimeout = 30.0
    clock: Any = None

    def __init__(self) -> None:
        self.machine = TelnetMachine(self.acceptLocal, self.acceptRemote, self.maxSubnegotiation)
        self._waiting: dict[tuple[int, bool], list[tuple[bool, Deferred[None]]]] = {}

    # -- the wire side -----------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        """Bytes from the peer: run them through the machine and dispatch the events."""
        self._dispatch(self.machine.receiveData(data))

    def _flushOut(self) -> None:
        out = self.machine.dataToSend()
        if out and self.transport is not None:
            self.transport.write(out)

    def _dispatch(self, events: Iterable[Any]) -> None:
        self._flushOut()
        for event in events:
            if isinstance(event, DataReceived):
                self.applicationDataReceived(event.data)
            elif isinstance(event, OptionStateChanged):
                self._optionChanged(event)
            elif isinstance(event, SubnegotiationReceived):
                self._subnegotiation(event)
            elif isinstance(event, CommandReceived):
                self.commandReceived(event.command)
            elif isinstance(event, SubnegotiationTooLong):
                _log.warn(
                    "telnet: subnegotiation for option {option} longer than {limit} bytes dropped",
                    option=event.option,
                    limit=event.limit,
                )
            self._flushOut()

    def _optionChanged(self, event: OptionStateChanged) -> None:
        if event.option == TTYPE and not event.local and event.enabled:
            self.machine.sendSubnegotiation(TTYPE, bytes([TTYPE_SEND]))
        for wanted, d in self._waiting.pop((event.option, event.local), []):
            if d.called:  # timed out already
                continue
            if wanted == event.enabled:
                d.callback(None)
            else:
                side = "local" if event.local else "remote"
                d.errback(Failure(OptionRefusedError(f"{side} option {event.option} refused")))
        self.optionChanged(event.option, event.local, event.enabled)

    def _subnegotiation(self, event: SubnegotiationReceived) -> None:
        if event.option == NAWS and self.machine.remoteEnabled(NAWS):
            size = parseNAWS(event.payload)
            if size is not None:
                self.telnet_NAWS(*size)
        elif event.option == TTYPE and event.payload[:1] == bytes([TTYPE_IS]):
            self.terminalType(event.payload[1:].decode("ascii", "replace"))

    # -- requests ----------------------------------------------------------------------------

    def enableLocal(self, option: int) -> Deferred[None]:
        """Offer to enable ``option`` on our side (WILL); fires once the peer agrees."""
        return self._negotiate(option, True, True, self.machine.requestLocal)

    def enableRemote(self, option: int) -> Deferred[None]:
        """Ask the peer to enable ``option`` (DO); fires once it does."""
        return self._negotiate(option, False, True, self.machine.requestRemote)

    def disableLocal(self, option: int) -> Deferred[None]:
        """Disable ``option`` on our side (WONT)."""
        return self._negotiate(option, True, False, self.machine.disableLocal)

    def disableRemote(self, option: int) -> Deferred[None]:
        """Ask the peer to disable ``option`` (DONT)."""
        return self._negotiate(option, False, False, self.machine.disableRemote)

    def _negotiate(
        self, option: int, local: bool, enable: bool, request: Callable[[int], list[Any]]
    ) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self._waiting.setdefault((option, local), []).append((enable, d))
        try:
            request(option)
        except Exception:
            self._waiting[(option, local)].remove((enable, d))
            failed: Deferred[None] = fail(Failure())
            return failed
        self._flushOut()
        if self.clock is not None:
            d.addTimeout(self.negotiationTimeout, self.clock)
        return d

    # -- events for subclasses ---------------------------------------------------------------

    def applicationDataReceived(self, data: bytes) -> None:
        """Clean application bytes from the peer."""

    def commandReceived(self, command: int) -> None:
        """A Telnet command (``plait.wire.telnet.AYT`` ...)."""

    def telnet_NAWS(self, width: int, height: int) -> None:
        """The peer's window size (RFC 1073)."""

    def terminalType(self, ttype: str) -> None:
        """The peer's terminal type (RFC 1091)."""

    def optionChanged(self, option: int, local: bool, enabled: bool) -> None:
        """An option was turned on or off on one side."""

    def writeData(self, data: bytes) -> None:
        """Send application bytes (IAC doubled, bare CR sent as CR NUL)."""
        self.machine.sendData(data)
        self._flushOut()

    def connectionLost(self, reason: Failure | None = None) -> None:
        waiting, self._waiting = self._waiting, {}
        for entries in waiting.values():
            for _, d in entries:
                d.cancel()


class TelnetTransport(TelnetProtocol):
    """Telnet under an application protocol that sees only clean bytes.

    ``TelnetTransport(protocolFactory, *args, **kwargs)`` builds the application protocol on
    connection and makes itself that protocol's transport: ``write`` escapes,
    ``dataReceived`` gets unescaped bytes, and ``telnet_NAWS``/``terminalType`` are passed on
    when the application defines them. The application negotiates through its transport
    (``self.transport.enableLocal(ECHO)``).
    """

    def __init__(self, protocolFactory: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.protocolFactory = protocolFactory
        self.protocolArgs = args
        self.protocolKwargs = kwargs
        self.protocol: Any = None

    def connectionMade(self) -> None:
        self.protocol = self.protocolFactory(*self.protocolArgs, **self.protocolKwargs)
        self.protocol.factory = getattr(self, "factory", None)
        self.protocol.makeConnection(self)

    def applicationDataReceived(self, data: bytes) -> None:
        if self.protocol is not None:
            self.protocol.dataReceived(data)

    def telnet_NAWS(self, width: int, height: int) -> None:
        handler = getattr(self.protocol, "telnet_NAWS", None)
        if handler is not None:
            handler(width, height)

    def terminalType(self, ttype: str) -> None:
        handler = getattr(self.protocol, "terminalType", None)
        if handler is not None:
            handler(ttype)

    def commandReceived(self, command: int) -> None:
        handler = getattr(self.protocol, "commandReceived", None)
        if handler is not None:
            handler(command)

    # -- ITransport for the application --------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send application bytes."""
        self.writeData(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Send several byte strings."""
        self.writeData(b"".join(data))

    def loseConnection(self) -> None:
        """Close the connection once written data is sent."""
        if self.transport is not None:
            self.transport.loseConnection()

    def getPeer(self) -> Any:
        """The peer's address."""
        return self.transport.getPeer() if self.transport is not None else None

    def getHost(self) -> Any:
        """Our address."""
        return self.transport.getHost() if self.transport is not None else None

    def connectionLost(self, reason: Failure | None = None) -> None:
        super().connectionLost(reason)
        if self.protocol is not None:
            protocol, self.protocol = self.protocol, None
            protocol.connectionLost(reason)
