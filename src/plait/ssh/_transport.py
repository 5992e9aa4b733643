"""The SSH transport on the reactor: ``plait.wire.ssh.transport``'s machine driven by a Protocol.

``SSHServerTransport`` and ``SSHClientTransport`` feed ``dataReceived`` into an
``SSHTransportConnection``, write what it produces (one write per batch of packets), run the
active ``SSHService`` (``plait.ssh.service``) and own the policy: host key checks (client),
which services may be requested (server), login grace time, rekeying by time, logging.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from plait.defer import Deferred, Failure, maybeDeferred
from plait.log import Logger
from plait.protocol import ClientFactory, Protocol, ServerFactory, connectionDone
from plait.ssh._logtext import shown
from plait.ssh._service import SSHService
from plait.wire.ssh.keys import PrivateKey, PublicKey
from plait.wire.ssh.transport import (
    DebugReceived,
    Disconnected,
    ExtInfoReceived,
    HostKeyReceived,
    KexComplete,
    PacketReceived,
    ServiceAccepted,
    ServiceRequested,
    SSHTransportConnection,
    UnimplementedReceived,
    VersionReceived,
)
from plait.wire.ssh.types import DisconnectReason, SSHDisconnectError

if TYPE_CHECKING:
    from plait.protocol import IAddress
    from plait.reactor import IDelayedCall, IReactorTime

__all__ = [
    "SSHClientFactory",
    "SSHClientTransport",
    "SSHServerFactory",
    "SSHServerTransport",
    "SSHTransportBase",
]

_log = Logger(namespace="plait.ssh.transport")

_USERAUTH = b"ssh-userauth"
_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux
# Reads up to this size are the handshake's (or a session's) small messages: ACK them at once.
_QUICKACK_BELOW = 4096


def _reasonName(reason: int) -> str:
    try:
        return DisconnectReason(reason).name
    except ValueError:
        return str(reason)


class _AlgorithmOptions:
    """Algorithm preferences and limits shared by both factories (None = the defaults)."""

    kexAlgorithms: Sequence[str] | None = None
    ciphers: Sequence[str] | None = None
    macs: Sequence[str] | None = None
    compressions: Sequence[str] | None = None
    hostKeyAlgorithms: Sequence[str] | None = None
    version = "plait_0.1"
    rekeyBytes = 1 << 30
    rekeyInterval = 3600.0  # seconds between key re-exchanges (OpenSSH's RekeyLimit time)
    # A re-exchange the peer does not complete within kexTimeout seconds, or while more than
    # maxHeldBytes of service messages wait for it, ends the connection.
    kexTimeout = 60.0
    maxHeldBytes = 8 << 20
    reactor: IReactorTime | None = None

    def _setOptions(self, reactor: IReactorTime | None, options: Mapping[str, Any]) -> None:
        self.reactor = reactor
        for name, value in options.items():
            if not hasattr(_AlgorithmOptions, name) or name == "reactor":
                raise TypeError(f"unknown SSH transport option {name!r}")
            setattr(self, name, value)

    def machineOptions(self) -> dict[str, Any]:
        """Keyword arguments for ``SSHTransportConnection``."""
        options: dict[str, Any] = {"version": self.version, "rekeyBytes": self.rekeyBytes}
        for name in ("kexAlgorithms", "ciphers", "macs", "compressions", "hostKeyAlgorithms"):
            value = getattr(self, name)
            if value is not None:
                options[name] = tuple(value)
        return options


class SSHTransportBase(Protocol):
    """What both roles share; implements ``plait.ssh.service.ISSHTransport``."""

    isClient = False
    service: SSHService | None = None
    sessionID: bytes = b""
    machine: SSHTransportConnection
    authenticated = False
    peerVersion: str | None = None
    #: The peer's EXT_INFO extensions (RFC 8308), e.g. ``{"server-sig-algs": b"..."}``.
    extensions: dict[str, bytes]

    def __init__(self) -> None:
        self._delivering = False
        self._closing = False
        self._rekeyCall: IDelayedCall | None = None
        self._kexTimeoutCall: IDelayedCall | None = None
        self._rekeying = False  # a re-exchange (not the first) is running
        self._pausedService: Any = None  # the service we paused for it (has resumeProducing)
        self._lostReason: str | None = None
        self._socket: socket.socket | None = None
        self.reactor: Any = None  # set by connectionMade (for the timers, also services')
        self.extensions = {}

    # -- ISSHTransport -----------------------------------------------------------------------

    def sendPacket(self, messageType: int, payload: bytes) -> None:
        """Send one message; ``payload`` excludes the message-number byte.

        Dropped (logged at debug) once the connection is closing, or once the machine has
        closed (a DISCONNECT arrived in the same read as data a service still answers).
        """
        if self._closing or self.machine.closed:
            _log.debug(
                "{prefix}: connection closed: message {msg} dropped",
                prefix=self.logPrefix(),
                msg=messageType,
            )
            return
        machine = self.machine
        machine.sendMessage(messageType, payload)
        if machine.heldBytes and self._heldTooMuch():  # held only while a key exchange runs
            return
        if not self._delivering:
            # At once, one packet a write: batching a burst (a channel sending a 1 MiB read as
            # 32 packets) into one write was measured slower: the join copies it all again,
            # into fresh memory, and the kernel copies it anyway (download 1 GiB: ~1.3 ms/MB
            # of server CPU batched, ~0.9 ms/MB a packet a write).
            self._flush()

    def sendPacketParts(self, messageType: int, header: bytes, data: bytes | memoryview) -> None:
        """Send one message whose payload is ``header`` then ``data`` (the bulk data path).

        As ``sendPacket``, but the pieces are joined once, into the packet's plaintext, so a
        32 KiB CHANNEL_DATA is copied once before it is encrypted (not three times).
        """
        if self._closing or self.machine.closed:
            _log.debug(
                "{prefix}: connection closed: message {msg} dropped",
                prefix=self.logPrefix(),
                msg=messageType,
            )
            return
        machine = self.machine
        machine.sendMessageParts(messageType, header, data)
        if machine.heldBytes and self._heldTooMuch():
            return
        if not self._delivering:
            self._flush()  # a packet a write: see sendPacket

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the packets sent in the block and write them to TCP together at its end.

        For a few small messages sent in one turn (a session's ``exit-status``, EOF and
        CLOSE): one write, one segment, instead of one each. Blocks nest, and inside
        ``dataReceived`` (which already writes once, at its end) a block changes nothing.
        Not for bulk data: joining large packets costs a copy (see ``sendPacket``).
        """
        if self._delivering:
            yield
            return
        self._delivering = True
        try:
            yield
        finally:
            self._delivering = False
            self._flush()

    def setService(self, service: SSHService) -> None:
        """Stop the current service and start ``service``."""
        old = self.service
        if old is not None:
            old.serviceStopped()
        _log.info(
            "{prefix}: starting service {name}",
            prefix=self.logPrefix(),
            name=service.name.decode("ascii", "replace"),
        )
        service.transport = self
        self.service = service
        if service.name != _USERAUTH:
            self._serviceBeyondAuth()
        service.serviceStarted()

    def sendDisconnect(self, reason: int, description: str) -> None:
        """Send SSH_MSG_DISCONNECT and close the connection."""
        if self._closing:
            return
        _log.info(
            "{prefix}: disconnecting: {reason} ({description})",
            prefix=self.logPrefix(),
            reason=_reasonName(reason),
            description=description,
        )
        self._lostReason = f"we disconnected: {_reasonName(reason)} ({description})"
        self.machine.sendDisconnect(reason, description)
        self._close()

    def loseConnection(self) -> None:
        """Close the connection (with SSH_MSG_DISCONNECT BY_APPLICATION)."""
        self.sendDisconnect(DisconnectReason.BY_APPLICATION, "closed by application")

    def sendUnimplemented(self) -> None:
        """SSH_MSG_UNIMPLEMENTED for the last packet received."""
        if self._closing or self.machine.closed:
            return
        self.machine.sendUnimplemented()
        if not self._delivering:
            self._flush()

    def sendIgnore(self, data: bytes = b"") -> None:
        """SSH_MSG_IGNORE (e.g. as a keepalive that needs no answer)."""
        if self._closing or self.machine.closed:
            return
        self.machine.sendIgnore(data)
        if not self._delivering:
            self._flush()

    def requestRekey(self) -> None:
        """Start a key re-exchange now (no-op while one is running)."""
        if self.machine.requestRekey():
            self._watchKex()
            if not self._delivering:
                self._flush()

    def authenticationSucceeded(self) -> None:
        """User authentication succeeded: delayed compression starts, the login timer stops.

        The userauth service calls this right after sending (server) or receiving (client)
        SSH_MSG_USERAUTH_SUCCESS. (The machine also starts delayed compression on that message by
        itself, so the call order cannot corrupt the stream.)
        """
        self.authenticated = True
        self.machine.enableCompression()
        self._serviceBeyondAuth()

    enableCompression = authenticationSucceeded

    def getPeer(self) -> IAddress:
        """The peer's address."""
        assert self.transport is not None
        return self.transport.getPeer()

    def getHost(self) -> IAddress:
        """Our address."""
        assert self.transport is not None
        return self.transport.getHost()

    def logPrefix(self) -> str:
        """``SSHServerTransport,<peer host>:<port>``."""
        try:
            peer = self.getPeer()
            where = f"{getattr(peer, 'host', peer)}:{getattr(peer, 'port', '')}"
        except Exception:
            where = "?"
        return f"{type(self).__name__},{where}"

    # -- Protocol ----------------------------------------------------------------------------

    def _newMachine(self) -> SSHTransportConnection:
        raise NotImplementedError

    def connectionMade(self) -> None:
        """Set TCP_NODELAY, send our identification string and KEXINIT."""
        setNoDelay = getattr(self.transport, "setTcpNoDelay", None)
        if setNoDelay is not None:
            setNoDelay(True)  # kex is a ping-pong: Nagle + delayed ACK would stall it ~40 ms
        # The factory's reactor, else the one the connection runs on (plait's stream
        # transports, TCP and UNIX, expose it as ``transport.reactor``), so that a factory
        # built without ``reactor=`` still gets its login grace and rekey timers. A transport
        # without one (a bare test transport) runs without timers.
        self.reactor = getattr(self.factory, "reactor", None) or getattr(
            self.transport, "reactor", None
        )
        self._socket = getattr(self.transport, "socket", None) if _TCP_QUICKACK else None
        self.machine = self._newMachine()
        self._flush()

    def dataReceived(self, data: bytes) -> None:
        """Feed the machine, deliver its events, write what they produced."""
        if self._closing:
            return
        self._delivering = True
        try:
            self.machine.receiveData(data)
            self._deliver()
        except SSHDisconnectError as e:
            self._protocolFailed(e)
        finally:
            self._delivering = False
        if not self._rekeying:
            self._watchKex()
        out = self.machine.dataToSend()
        if out:
            if self.transport is not None:
                self.transport.write(out)  # carries the ACK of what came in
        elif self._socket is not None and len(data) < _QUICKACK_BELOW:
            self._quickAck()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Stop the service and the timers; log why the connection ended."""
        self._closing = True
        self._cancelTimers()
        _log.info(
            "{prefix}: connection closed ({why})",
            prefix=self.logPrefix(),
            why=self._lostReason or reason.getErrorMessage(),
        )
        service, self.service = self.service, None
        if service is not None:
            service.serviceStopped()

    # -- internals ---------------------------------------------------------------------------

    def _quickAck(self) -> None:
        """ACK what just arrived now rather than up to 40 ms later.

        OpenSSH's ``ssh`` leaves Nagle on for non-interactive sessions, so when it sends two
        small messages in a row and the first needs no answer (KEXINIT then KEX_ECDH_INIT,
        NEWKEYS then SERVICE_REQUEST), the second waits for our ACK of the first, which
        Linux delays (it expects to piggyback the ACK on an answer): two 40 ms stalls per
        connection. So a small read that we do not answer at once is ACKed now (setting
        TCP_QUICKACK sends the pending ACK; it is not sticky). A read that is answered, or a
        bulk one, is left to the normal ACKs.
        """
        sock = self._socket
        if sock is None or _TCP_QUICKACK is None:
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:
            self._socket = None  # not a TCP socket after all: stop trying

    def _flush(self) -> None:
        data = self.machine.dataToSend()
        if data and self.transport is not None:
            self.transport.write(data)

    def _close(self) -> None:
        self._closing = True
        self._cancelTimers()
        self._flush()
        if self.transport is not None:
            tcp: Any = self.transport
            if getattr(tcp, "producer", None) is not None:
                # A service's flow-control producer (ssh-connection's) must not hold the close.
                tcp.unregisterProducer()
            self.transport.loseConnection()

    def _protocolFailed(self, error: SSHDisconnectError) -> None:
        _log.warn(
            "{prefix}: protocol error, disconnecting: {error}",
            prefix=self.logPrefix(),
            error=shown(str(error)),  # may quote the peer
        )
        self._lostReason = f"protocol error: {shown(str(error))}"
        self.machine.sendDisconnect(error.reason, error.description)  # no-op if already queued
        self._close()

    def _deliver(self) -> None:
        machine = self.machine
        while not self._closing:
            event = machine.nextEvent()
            if event is None:
                return
            if type(event) is PacketReceived:
                service = self.service
                if service is None:
                    raise SSHDisconnectError(
                        DisconnectReason.PROTOCOL_ERROR,
                        f"message {event.messageNum} with no service running",
                    )
                try:
                    service.packetReceived(event.messageNum, event.payload)
                except SSHDisconnectError:
                    raise
                except Exception:
                    _log.failure(
                        "{prefix}: service {name} failed on message {msg}",
                        prefix=self.logPrefix(),
                        name=service.name,
                        msg=event.messageNum,
                    )
                    self.sendDisconnect(DisconnectReason.BY_APPLICATION, "internal error")
            else:
                self._transportEvent(event)

    def _transportEvent(self, event: object) -> None:
        prefix = self.logPrefix()
        if isinstance(event, VersionReceived):
            self.peerVersion = event.version
            _log.debug("{prefix}: peer is {version}", prefix=prefix, version=shown(event.version))
        elif isinstance(event, KexComplete):
            self._kexComplete(event)
        elif isinstance(event, Disconnected):
            _log.info(
                "{prefix}: peer disconnected: {reason} ({description})",
                prefix=prefix,
                reason=_reasonName(event.reason),
                description=shown(event.description),
            )
            self._lostReason = (
                f"peer disconnected: {_reasonName(event.reason)} ({shown(event.description)})"
            )
            self._close()
        elif isinstance(event, HostKeyReceived):
            self._hostKeyReceived(event.key)
        elif isinstance(event, ServiceRequested):
            self._serviceRequested(event.name)
        elif isinstance(event, ServiceAccepted):
            self._serviceAccepted(event.name)
        elif isinstance(event, ExtInfoReceived):
            self.extensions.update(event.extensions)  # server-sig-algs, for userauth clients
            _log.debug("{prefix}: ext-info {ext}", prefix=prefix, ext=sorted(event.extensions))
        elif isinstance(event, DebugReceived):
            _log.debug(
                "{prefix}: peer debug: {message}", prefix=prefix, message=shown(event.message)
            )
        elif isinstance(event, UnimplementedReceived):
            _log.warn(
                "{prefix}: peer did not understand our packet {seq}",
                prefix=prefix,
                seq=event.sequenceNumber,
            )

    def _kexComplete(self, event: KexComplete) -> None:
        algs = event.algorithms
        self.sessionID = self.machine.sessionID or b""
        _log.info(
            "{prefix}: {what} complete: kex {kex}, host key {hostKey}, cipher {cipher}, "
            "MAC {mac}, compression {comp}{strict}",
            prefix=self.logPrefix(),
            what="key exchange" if event.initial else "rekey",
            kex=algs.kex,
            hostKey=algs.hostKey,
            cipher=algs.cipherCS
            if algs.cipherCS == algs.cipherSC
            else f"{algs.cipherCS}/{algs.cipherSC}",
            mac=algs.macCS if algs.macCS == algs.macSC else f"{algs.macCS}/{algs.macSC}",
            comp=algs.compressionCS,
            strict=", strict kex" if algs.strict else "",
        )
        self._scheduleRekey()
        if event.initial:
            self._secure()
        else:
            self._rekeyDone()

    def _watchKex(self) -> None:
        """A re-exchange started (ours or the peer's): pause the service, start its timeout.

        While it runs the service's messages are held in memory (RFC 4253 section 7.1), so the
        service's producers (ssh-connection's channels) are paused, a timer ends an exchange
        the peer never completes, and ``sendPacket`` caps what is held (the TCP connection may
        resume a service it paused itself meanwhile).
        """
        machine = self.machine
        if self._rekeying or self._closing or not machine.secure or not machine.kexInProgress:
            return
        self._rekeying = True
        service = self.service
        pauseFor = getattr(service, "pauseFor", None)
        pause = getattr(service, "pauseProducing", None)
        if pauseFor is not None:
            # paused per reason: a TCP resume during the exchange does not resume it
            self._pausedService = service
            pauseFor("kex")
        elif pause is not None and not getattr(service, "paused", False):
            self._pausedService = service
            pause()
        timeout = self._option("kexTimeout")
        if self.reactor is not None and timeout:
            self._kexTimeoutCall = self.reactor.callLater(timeout, self._kexTimedOut)

    def _heldTooMuch(self) -> bool:
        """Messages are being held for a key exchange: watch it; past the cap, disconnect."""
        if not self._rekeying:
            self._watchKex()
        limit = self._option("maxHeldBytes")
        if not limit or self.machine.heldBytes <= limit:
            return False
        self.sendDisconnect(
            DisconnectReason.KEY_EXCHANGE_FAILED,
            f"key re-exchange not completed: over {limit} bytes held",
        )
        return True

    def _option(self, name: str) -> Any:
        return getattr(self.factory, name, getattr(_AlgorithmOptions, name))

    def _kexTimedOut(self) -> None:
        self._kexTimeoutCall = None
        self.sendDisconnect(
            DisconnectReason.KEY_EXCHANGE_FAILED,
            f"key re-exchange not completed in {self._option('kexTimeout'):g} s",
        )

    def _rekeyDone(self) -> None:
        self._rekeying = False
        if self._kexTimeoutCall is not None and self._kexTimeoutCall.active():
            self._kexTimeoutCall.cancel()
        self._kexTimeoutCall = None
        service, self._pausedService = self._pausedService, None
        if service is not None and service is self.service and not self._closing:
            resumeFor = getattr(service, "resumeFor", None)
            if resumeFor is not None:
                resumeFor("kex")
            else:
                getattr(service, "resumeProducing")()  # noqa: B009 - a producer, not any service

    def _scheduleRekey(self) -> None:
        reactor = self.reactor
        interval = getattr(self.factory, "rekeyInterval", None)
        if reactor is None or not interval:
            return
        if self._rekeyCall is not None and self._rekeyCall.active():
            self._rekeyCall.cancel()
        self._rekeyCall = reactor.callLater(interval, self._rekeyTimer)

    def _rekeyTimer(self) -> None:
        self._rekeyCall = None
        if not self._closing:
            _log.debug("{prefix}: rekeying (time limit)", prefix=self.logPrefix())
            self.requestRekey()

    def _cancelTimers(self) -> None:
        if self._rekeyCall is not None and self._rekeyCall.active():
            self._rekeyCall.cancel()
        self._rekeyCall = None
        if self._kexTimeoutCall is not None and self._kexTimeoutCall.active():
            self._kexTimeoutCall.cancel()
        self._kexTimeoutCall = None

    def _secure(self) -> None:
        """The first key exchange completed."""

    def _serviceBeyondAuth(self) -> None:
        """A service other than userauth started, or authentication succeeded."""

    def _hostKeyReceived(self, key: PublicKey) -> None:
        raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "unexpected host key")

    def _serviceRequested(self, name: bytes) -> None:
        raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "unexpected SERVICE_REQUEST")

    def _serviceAccepted(self, name: bytes) -> None:
        raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "unexpected SERVICE_ACCEPT")


class SSHServerTransport(SSHTransportBase):
    """The server side: host keys and services come from its ``SSHServerFactory``."""

    isClient = False
    factory: SSHServerFactory

    def __init__(self) -> None:
        super().__init__()
        self._graceCall: IDelayedCall | None = None
        self._serviceRequestSeen = False
        self._startup = False  # counted in the factory's unauthenticated connections

    def connectionMade(self) -> None:
        """Refuse the connection past ``maxStartups``; else start the login grace timer and
        the transport."""
        factory = self.factory
        if not factory._startupAllowed():
            self._closing = True
            self._lostReason = "too many unauthenticated connections (maxStartups)"
            _log.warn(
                "{prefix}: refused: {count} unauthenticated connections (maxStartups)",
                prefix=self.logPrefix(),
                count=factory.startups,
            )
            if self.transport is not None:
                self.transport.write(b"Exceeded MaxStartups\r\n")  # what OpenSSH says
                self.transport.loseConnection()
            return
        factory.startups += 1
        self._startup = True
        super().connectionMade()
        reactor = self.reactor
        grace = factory.loginGraceTime
        if reactor is not None and grace:
            self._graceCall = reactor.callLater(grace, self._graceExpired)

    def _newMachine(self) -> SSHTransportConnection:
        factory = self.factory
        return SSHTransportConnection("server", factory.hostKeys, **factory.machineOptions())

    def _graceExpired(self) -> None:
        self._graceCall = None
        self.sendDisconnect(
            DisconnectReason.BY_APPLICATION,
            f"login grace time exceeded ({self.factory.loginGraceTime:g} s)",
        )

    def _serviceBeyondAuth(self) -> None:
        if self._graceCall is not None and self._graceCall.active():
            self._graceCall.cancel()
        self._graceCall = None
        if self._startup:  # authenticated, or closing: no longer a startup
            self._startup = False
            self.factory.startups -= 1

    def _cancelTimers(self) -> None:
        super()._cancelTimers()
        self._serviceBeyondAuth()

    def _serviceRequested(self, name: bytes) -> None:
        build = self.factory.services.get(name)
        shown = name.decode("ascii", "replace")
        if build is None or self._serviceRequestSeen:
            # one SERVICE_REQUEST per connection: later services are started by the one
            # before (userauth starts ssh-connection), never directly by the client
            self.sendDisconnect(
                DisconnectReason.SERVICE_NOT_AVAILABLE, f"service {shown!r} not available"
            )
            return
        self._serviceRequestSeen = True
        self.machine.acceptService(name)
        self.setService(build())


class SSHClientTransport(SSHTransportBase):
    """The client side: checks the host key (``verifyHostKey``), then ``connectionSecure``."""

    isClient = True
    factory: SSHClientFactory
    hostKey: PublicKey | None = None

    def __init__(self) -> None:
        super().__init__()
        self._requested: SSHService | None = None

    def _newMachine(self) -> SSHTransportConnection:
        return SSHTransportConnection("client", **self.factory.machineOptions())

    def verifyHostKey(self, key: PublicKey) -> Deferred[bool] | bool:
        """Whether to trust the server's ``key`` (a bool or a Deferred of one).

        The default asks ``factory.verifyHostKey(key)``; with none set every key is refused.
        """
        check = getattr(self.factory, "verifyHostKey", None)
        if check is None:
            _log.warn("{prefix}: no host key policy: refusing", prefix=self.logPrefix())
            return False
        result: Deferred[bool] | bool = check(key)
        return result

    def connectionSecure(self) -> None:
        """The first key exchange is done: request a service (``factory.service`` if set)."""
        build = getattr(self.factory, "service", None)
        if build is not None:
            self.requestService(build())

    def requestService(self, service: SSHService) -> None:
        """Ask the server for ``service``; it starts when the server accepts."""
        self._requested = service
        self.machine.requestService(service.name)
        if not self._delivering:
            self._flush()

    def _secure(self) -> None:
        self.connectionSecure()

    def _hostKeyReceived(self, key: PublicKey) -> None:
        self.hostKey = key
        d = maybeDeferred(self.verifyHostKey, key)
        d.addCallbacks(self._hostKeyDecided, self._hostKeyFailed, callbackArgs=(key,))

    def _hostKeyDecided(self, ok: object, key: PublicKey) -> None:
        if self._closing:
            return
        if not ok:
            _log.warn(
                "{prefix}: host key {fp} refused",
                prefix=self.logPrefix(),
                fp=key.fingerprint(),
            )
            self._lostReason = f"host key {key.fingerprint()} refused"
            self.machine.rejectHostKey(f"host key {key.fingerprint()} not accepted")
            self._close()
            return
        _log.debug(
            "{prefix}: host key {fp} accepted", prefix=self.logPrefix(), fp=key.fingerprint()
        )
        delivering, self._delivering = self._delivering, True
        try:
            self.machine.acceptHostKey()
            self._deliver()
        except SSHDisconnectError as e:
            self._protocolFailed(e)
        finally:
            self._delivering = delivering
        if not delivering:
            self._flush()

    def _hostKeyFailed(self, failure: Failure) -> None:
        _log.failure("{prefix}: host key check failed", failure, prefix=self.logPrefix())
        self._hostKeyDecided(False, self.hostKey)  # type: ignore[arg-type]

    def _serviceAccepted(self, name: bytes) -> None:
        service, self._requested = self._requested, None
        if service is None or service.name != name:
            raise SSHDisconnectError(
                DisconnectReason.PROTOCOL_ERROR, "server accepted a service we did not ask for"
            )
        self.setService(service)


class SSHServerFactory(ServerFactory, _AlgorithmOptions):
    """Builds ``SSHServerTransport``s.

    ``hostKeys``: ``PrivateKey``s (a sequence, or a mapping whose values are keys);
    ``services``: what a client may request by name (normally only ``b"ssh-userauth"``, which
    starts the next service itself); ``portal`` for the userauth service; ``reactor`` for the
    timers (rekey every ``rekeyInterval`` s, disconnect after ``loginGraceTime`` s without
    authentication); without it the timers use the connection's own reactor
    (``transport.reactor``, which plait's TCP and UNIX transports have), and there are none
    only if the transport has no reactor either. Other keywords set algorithm preferences
    (``kexAlgorithms``, ``ciphers``, ``macs``, ``compressions``, ``hostKeyAlgorithms``),
    ``version``, ``rekeyBytes``, ``rekeyInterval``.

    ``maxStartups`` limits unauthenticated connections (counted from ``connectionMade`` until
    authentication succeeds, a service other than userauth starts, or the connection ends),
    with OpenSSH's ``MaxStartups start:rate:full`` semantics: ``(start, rate, full)``, default
    ``(10, 30, 100)``: past ``start`` a new connection is refused with probability ``rate`` %,
    rising linearly to 100 % at ``full``; an int ``n`` is a hard cap (``(n, 100, n)``); None
    is no limit. A refused connection gets ``Exceeded MaxStartups`` and is closed.
    """

    protocol = SSHServerTransport
    loginGraceTime = 120.0
    #: Draws the random early drops (a float in [0, 1)); replaceable for tests.
    startupRandom: Callable[[], float] = staticmethod(random.random)

    def __init__(
        self,
        hostKeys: Sequence[PrivateKey] | Mapping[Any, PrivateKey],
        services: Mapping[bytes, Callable[[], SSHService]],
        portal: Any = None,
        *,
        reactor: IReactorTime | None = None,
        loginGraceTime: float = 120.0,
        maxStartups: int | tuple[int, int, int] | None = (10, 30, 100),
        **options: Any,
    ) -> None:
        if isinstance(maxStartups, int):
            maxStartups = (maxStartups, 100, maxStartups)
        if maxStartups is not None:
            start, rate, full = maxStartups
            if not (0 < start <= full and 0 <= rate <= 100):
                raise ValueError(f"maxStartups must be start:rate:full, not {maxStartups!r}")
        self.maxStartups = maxStartups
        #: Unauthenticated connections now.
        self.startups = 0
        keys = hostKeys.values() if isinstance(hostKeys, Mapping) else hostKeys
        self.hostKeys: tuple[PrivateKey, ...] = tuple(keys)
        if not self.hostKeys:
            raise ValueError("an SSH server needs at least one host key")
        self.services = dict(services)
        self.portal = portal
        self.loginGraceTime = loginGraceTime
        self._setOptions(reactor, options)

    def _startupAllowed(self) -> bool:
        """Whether one more unauthenticated connection may start (MaxStartups)."""
        if self.maxStartups is None:
            return True
        start, rate, full = self.maxStartups
        count = self.startups
        if count < start:
            return True
        if count >= full:
            return False
        chance = (rate + (100 - rate) * (count - start) / (full - start)) / 100
        return self.startupRandom() >= chance


class SSHClientFactory(ClientFactory, _AlgorithmOptions):
    """Builds ``SSHClientTransport``s.

    ``verifyHostKey(key) -> bool | Deferred[bool]`` decides on the server's key (required:
    without it every key is refused); ``service()`` builds the service requested once the
    connection is secure (e.g. userauth); ``reactor`` for the rekey timer; other keywords as
    for ``SSHServerFactory``.
    """

    protocol = SSHClientTransport

    def __init__(
        self,
        verifyHostKey: Callable[[PublicKey], bool | Deferred[bool]] | None = None,
        service: Callable[[], SSHService] | None = None,
        *,
        reactor: IReactorTime | None = None,
        **options: Any,
    ) -> None:
        self.verifyHostKey = verifyHostKey
        self.service = service
        self._setOptions(reactor, options)
