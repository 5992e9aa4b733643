"""TLS as a protocol wrapper over ``ssl.MemoryBIO``: ``TLSProtocol``, ``TLSFactory``, ``startTLS``.

The wrapper is the real transport's protocol and the wrapped protocol's transport. Bytes from
the transport go into an incoming ``MemoryBIO``; the ``ssl.SSLObject`` decrypts them and the
plaintext goes up to ``wrappedProtocol.dataReceived``; what the wrapped protocol writes is
encrypted into the outgoing ``MemoryBIO`` and written to the transport at once. Since it never
touches a socket it runs over any transport (TCP, Unix, in-memory, an SSH channel).

Events:

- the wrapped protocol's ``connectionMade`` runs once the handshake has completed (unlike
  Twisted, where it runs before), so ``getPeerCertificate()``/``negotiatedProtocol`` are
  usable there; ``whenHandshakeDone()`` gives a Deferred for the same moment, and a
  ``handshakeCompleted()`` method on the wrapped protocol is called too. If the handshake
  fails, a protocol that was never connected is never told: the Deferreds fail, a client
  factory gets ``clientConnectionFailed``; after ``startTLS`` the (already connected)
  protocol's ``connectionLost`` gets the error.
- ``connectionLost`` reasons: ``ConnectionDone`` only when the TLS stream was closed with a
  ``close_notify`` (either side); ``ConnectionLost`` when the stream was cut without one
  (truncation); ``ConnectionAborted`` after ``abortConnection``; ``TLSVerificationError`` /
  ``TLSError`` when TLS itself failed.

Requests: ``loseConnection`` waits for a registered producer to unregister, sends
``close_notify`` after everything written, then loses the transport (which flushes);
``abortConnection`` sends nothing; ``loseWriteConnection`` sends ``close_notify`` and keeps
reading (TLS 1.3 half-close). Producers registered here are registered with the real
transport, which pauses them when its buffer fills; ``pauseProducing`` stops both the real
transport's reading and the delivery of already-decrypted data.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

from plait.defer import Deferred, Failure, fail, succeed
from plait.log import Logger
from plait.protocol import (
    ConnectionAborted,
    ConnectionDone,
    ConnectionLost,
    IProtocol,
    ProtocolWrapper,
    WrappingFactory,
)

from ._errors import TLSError, tlsErrorFrom
from ._options import contextOf

__all__ = ["TLSFactory", "TLSProtocol", "startTLS"]

_log = Logger("plait.tls")


class TLSProtocol(ProtocolWrapper):
    """TLS between a transport and ``wrappedProtocol`` (see the module docstring).

    ``isClient`` chooses the side; ``serverHostname`` (clients) is the SNI name and the name the
    certificate is checked against when ``contextFactory`` has no ``hostname`` of its own.
    With a ``clock`` (``IReactorTime``) and ``handshakeTimeout`` seconds, a handshake not done
    in time aborts the connection with a ``TLSError`` saying so (a silent peer costs nothing).
    """

    readSize = 65536

    _tls: ssl.SSLObject | None = None
    _handshakeDone = False
    _appLosing = False
    _aborted = False
    _writeClosed = False  # our close_notify was sent
    _readClosed = False  # the peer's close_notify was received
    _halfClosePending = False
    _broken = False  # a TLS error: nothing more is read or written
    _paused = False
    _delivering = False
    _lost = False
    _tlsFailure: Failure | None = None
    _cutReason: Failure | None = None
    finalReason: Failure | None = None
    _producer: Any = None

    def __init__(
        self,
        factory: WrappingFactory | None,
        wrappedProtocol: IProtocol,
        contextFactory: object,
        isClient: bool,
        serverHostname: str | None = None,
        *,
        wrappedConnected: bool = False,
        clock: Any = None,
        handshakeTimeout: float | None = None,
    ) -> None:
        super().__init__(factory, wrappedProtocol)  # type: ignore[arg-type]
        self.contextFactory = contextFactory
        self.isClient = isClient
        self.serverHostname = serverHostname
        self._wrappedConnected = wrappedConnected
        self._clock = clock
        self.handshakeTimeout = handshakeTimeout
        self._timeoutCall: Any = None
        self._pendingWrites: list[bytes] = []
        self._waiters: list[Deferred[TLSProtocol]] = []
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()

    # -- connection set-up -------------------------------------------------------------------

    def makeConnection(self, transport: Any) -> None:
        """Start TLS on ``transport``; a client sends its ClientHello now."""
        self.transport = transport
        self.connected = 1
        if isinstance(self.factory, WrappingFactory):
            self.factory.registerProtocol(self)
        context = contextOf(self.contextFactory)
        hostname: str | None = None
        if self.isClient:
            hostname = getattr(self.contextFactory, "hostname", None) or self.serverHostname
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=not self.isClient, server_hostname=hostname
        )
        if self._clock is not None and self.handshakeTimeout is not None:
            self._timeoutCall = self._clock.callLater(self.handshakeTimeout, self._timedOut)
        if self.isClient:
            self._handshake()

    def _handshake(self) -> bool:
        """Advance the handshake; True once it completed and the connection is still up."""
        tls = self._tls
        assert tls is not None
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return False
        except ssl.SSLError as e:
            self._tlsFailed(e)
            return False
        self._handshakeDone = True
        self._cancelTimeout()
        self._flush()
        self._handshakeCompleted()
        return not (self._broken or self._lost)

    def _handshakeCompleted(self) -> None:
        if self._pendingWrites:
            data = b"".join(self._pendingWrites)
            self._pendingWrites = []
            self._writeTLS(data)
        if not self._wrappedConnected:
            self._wrappedConnected = True
            self.wrappedProtocol.makeConnection(self)
        hook = getattr(self.wrappedProtocol, "handshakeCompleted", None)
        if hook is not None:
            hook()
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(self)
        if self._lost or self._broken:
            return
        if self._appLosing and not self._aborted:
            self._shutdown()
        elif self._halfClosePending:
            self.loseWriteConnection()

    def _cancelTimeout(self) -> None:
        if self._timeoutCall is not None:
            call, self._timeoutCall = self._timeoutCall, None
            if call.active():
                call.cancel()

    def _timedOut(self) -> None:
        self._timeoutCall = None
        if self._handshakeDone or self._lost:
            return
        self._broken = True
        self._tlsFailure = Failure(
            TLSError(None, f"the TLS handshake did not complete within {self.handshakeTimeout}s")
        )
        self._getattr("abortConnection")()

    def whenHandshakeDone(self) -> Deferred[TLSProtocol]:
        """A Deferred firing with this transport once the handshake completed, or failing
        with why it did not (``TLSVerificationError``, ``ConnectionLost``...)."""
        if self._handshakeDone:
            return succeed(self)
        if self._lost:
            assert self.finalReason is not None
            return fail(self.finalReason)
        d: Deferred[TLSProtocol] = Deferred()
        self._waiters.append(d)
        return d

    # -- bytes from the transport -------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        """Decrypt ``data``; hand the plaintext to the wrapped protocol."""
        if self._broken or self._lost or self._readClosed or self._tls is None:
            return
        self._incoming.write(data)
        if not self._handshakeDone and not self._handshake():
            return
        self._deliver()

    def _deliver(self) -> None:
        if self._delivering or self._tls is None:
            return
        self._delivering = True
        read = self._tls.read
        size = self.readSize
        wrapped = self.wrappedProtocol
        try:
            # After loseConnection nothing more is delivered (as with a plain transport).
            while not (self._paused or self._broken or self._lost or self._appLosing):
                try:
                    data = read(size)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    self._closeNotifyReceived()
                    break
                except ssl.SSLError as e:
                    self._tlsFailed(e)
                    break
                if not data:
                    # The ssl module's way of saying close_notify (when ours was not sent).
                    self._closeNotifyReceived()
                    break
                wrapped.dataReceived(data)
        finally:
            self._delivering = False
        if self._outgoing.pending:
            # Reading may have produced records to send (key updates, alerts).
            self._flush()

    def _closeNotifyReceived(self) -> None:
        self._readClosed = True
        if self._writeClosed:
            self._transport().loseConnection()
            return
        readConnectionLost = getattr(self.wrappedProtocol, "readConnectionLost", None)
        if readConnectionLost is not None and not self._appLosing:
            readConnectionLost()
        else:
            self.loseConnection()

    def readConnectionLost(self) -> None:
        """The transport's end of input: clean only if a close_notify came before it."""
        if self._readClosed:
            if self._writeClosed or self._appLosing:
                self._transport().loseConnection()
            return
        if self._cutReason is None:
            when = (
                "during the TLS handshake"
                if not self._handshakeDone
                else "without a TLS close_notify"
            )
            self._cutReason = Failure(ConnectionLost(f"the peer closed the connection {when}"))
        self._transport().loseConnection()

    def writeConnectionLost(self) -> None:
        """The transport's half-close is not used by TLS; nothing to do."""

    # -- bytes to the transport ---------------------------------------------------------------

    def _flush(self) -> None:
        out = self._outgoing.read()
        if out and self.transport is not None:
            self.transport.write(out)

    def write(self, data: bytes) -> None:
        """Encrypt ``data`` and write it (held back until the handshake is done)."""
        if self._writeClosed or self._broken or self._lost:
            return
        if not self._handshakeDone:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise TypeError(f"write() takes bytes, not {type(data).__name__}")
            if data:
                self._pendingWrites.append(bytes(data))
            return
        if data:
            self._writeTLS(data)
        elif not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")

    def _writeTLS(self, data: bytes) -> None:
        tls = self._tls
        assert tls is not None
        try:
            tls.write(data)
        except ssl.SSLError as e:
            self._tlsFailed(e)
            return
        out = self._outgoing.read()
        if out:
            self._transport().write(out)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Write the chunks as one (one TLS record stream, no per-chunk records)."""
        self.write(b"".join(data))

    # -- ending -------------------------------------------------------------------------------

    def _sendCloseNotify(self) -> None:
        self._writeClosed = True
        tls = self._tls
        if tls is None:
            return
        try:
            tls.unwrap()
        except ssl.SSLError:
            # SSLWantReadError: sent ours, the peer's is still to come. Others: nothing to add.
            pass
        self._flush()

    def _shutdown(self) -> None:
        if not self._writeClosed:
            self._sendCloseNotify()
        self._transport().loseConnection()

    def loseConnection(self) -> None:
        """Send close_notify after what was written (and after a producer unregisters), then
        lose the transport."""
        if self._appLosing or self._lost:
            return
        self._appLosing = True
        self.disconnecting = 1
        if self._broken or self._tls is None:
            self._transport().loseConnection()
            return
        if not self._handshakeDone or self._producer is not None:
            return  # _handshakeCompleted / unregisterProducer finish the job
        self._shutdown()

    def abortConnection(self) -> None:
        """Drop everything and close the transport now; no close_notify is sent."""
        if self._lost:
            return
        self._appLosing = True
        self._aborted = True
        self.disconnecting = 1
        self._getattr("abortConnection")()

    def loseWriteConnection(self) -> None:
        """Send close_notify (TLS half-close) and keep reading."""
        if self._writeClosed or self._lost or self._broken:
            return
        if not self._handshakeDone:
            self._halfClosePending = True
            return
        self._sendCloseNotify()
        if self._readClosed:
            self._transport().loseConnection()
            return
        writeConnectionLost = getattr(self.wrappedProtocol, "writeConnectionLost", None)
        if writeConnectionLost is not None:
            writeConnectionLost()

    def _tlsFailed(self, e: ssl.SSLError) -> None:
        self._broken = True
        if self._tlsFailure is None:
            self._tlsFailure = Failure(tlsErrorFrom(e))
        self._pendingWrites = []
        self._flush()  # the alert telling the peer why
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = ConnectionDone()) -> None:  # type: ignore[assignment]  # noqa: B008
        """The transport is gone: tell the wrapped protocol why, in TLS terms."""
        if self._lost:
            return
        self._lost = True
        self._cancelTimeout()
        self.connected = 0
        if isinstance(self.factory, WrappingFactory):
            self.factory.unregisterProtocol(self)
        final = self._finalReason(reason)
        self.finalReason = final
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.errback(final)
        if self._wrappedConnected:
            self.wrappedProtocol.connectionLost(final)
        elif final.check(TLSError):
            _log.info(
                "TLS handshake with {peer} failed: {error}",
                peer=self._peerForLog(),
                error=final.getErrorMessage(),
            )

    def _peerForLog(self) -> object:
        try:
            return self._transport().getPeer()
        except Exception:
            return "?"

    def _finalReason(self, reason: Failure) -> Failure:
        if self._tlsFailure is not None:
            return self._tlsFailure
        if reason.check(ConnectionAborted) or self._aborted:
            return reason
        if self._cutReason is not None:
            return self._cutReason
        if not self._handshakeDone:
            if reason.check(ConnectionDone):
                return Failure(ConnectionLost("the connection closed during the TLS handshake"))
            return reason
        if self._readClosed or (self._writeClosed and reason.check(ConnectionDone)):
            return Failure(ConnectionDone())
        if reason.check(ConnectionDone):
            return Failure(ConnectionLost("the TLS stream was cut without a close_notify"))
        return reason

    # -- producers ------------------------------------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Register with the real transport: it pauses ``producer`` when its buffer fills."""
        self._getattr("registerProducer")(producer, streaming)
        self._producer = producer

    def unregisterProducer(self) -> None:
        """Unregister; a ``loseConnection`` waiting for it goes on."""
        self._producer = None
        self._getattr("unregisterProducer")()
        if self._appLosing and self._handshakeDone and not self._lost and not self._aborted:
            self._shutdown()

    def pauseProducing(self) -> None:
        """Stop delivering data to the wrapped protocol (and reading from the transport)."""
        self._paused = True
        self._getattr("pauseProducing")()

    def resumeProducing(self) -> None:
        """Deliver data again: first what is already decrypted, then read the transport."""
        self._paused = False
        if self._handshakeDone and not self._lost:
            self._deliver()
        if not self._paused:
            self._getattr("resumeProducing")()

    def stopProducing(self) -> None:
        """Lose the connection."""
        self.loseConnection()

    # -- TLS facts ------------------------------------------------------------------------------

    def getPeerCertificate(self, binary: bool = False) -> Any:
        """The peer's certificate: a dict (as ``ssl.getpeercert()``; empty when it was not
        verified), or its DER bytes with ``binary=True``; None if there is none (yet)."""
        if self._tls is None or not self._handshakeDone:
            return None
        return self._tls.getpeercert(binary)

    @property
    def negotiatedProtocol(self) -> bytes | None:
        """The ALPN protocol both sides chose (``b"h2"``...), or None."""
        if self._tls is None or not self._handshakeDone:
            return None
        selected = self._tls.selected_alpn_protocol()
        return None if selected is None else selected.encode("ascii")

    def getTLSVersion(self) -> str | None:
        """The negotiated version (``"TLSv1.3"``), or None before the handshake."""
        if self._tls is None or not self._handshakeDone:
            return None
        return self._tls.version()

    def getCipher(self) -> tuple[str, str, int] | None:
        """``(name, protocol, secret bits)`` of the cipher in use, or None."""
        if self._tls is None or not self._handshakeDone:
            return None
        return self._tls.cipher()

    def getServerName(self) -> str | None:
        """The SNI name: the one we sent (client) or None (server side does not keep it)."""
        if self._tls is None:
            return None
        return self._tls.server_hostname


class TLSFactory(WrappingFactory):
    """Wraps every protocol ``wrappedFactory`` builds in a ``TLSProtocol``.

    ``contextFactory`` is an ``ssl.SSLContext`` or has ``getContext()``; ``isClient`` chooses
    the side. A client connection whose handshake failed is reported to a wrapped
    ``ClientFactory`` as ``clientConnectionFailed`` (its protocol was never connected).
    ``clock``/``handshakeTimeout`` are given to each ``TLSProtocol``.
    """

    protocol = TLSProtocol

    def __init__(
        self,
        contextFactory: object,
        isClient: bool,
        wrappedFactory: Any,
        serverHostname: str | None = None,
        *,
        clock: Any = None,
        handshakeTimeout: float | None = None,
    ) -> None:
        super().__init__(wrappedFactory)
        self.clock = clock
        self.handshakeTimeout = handshakeTimeout
        contextOf(contextFactory)  # fail early on something that is not a context factory
        self.contextFactory = contextFactory
        self.isClient = isClient
        self.serverHostname = serverHostname
        self._last: TLSProtocol | None = None

    def buildProtocol(self, addr: Any) -> TLSProtocol | None:
        """Build the wrapped protocol and wrap it in TLS."""
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        p = TLSProtocol(
            self,
            wrapped,
            self.contextFactory,
            self.isClient,
            self.serverHostname,
            clock=self.clock,
            handshakeTimeout=self.handshakeTimeout,
        )
        self._last = p
        return p

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        """Tell a wrapped client factory, in TLS terms; a failed handshake is a failed connect."""
        p, self._last = self._last, None
        if p is not None and p.finalReason is not None:
            reason = p.finalReason
            if not p._wrappedConnected:
                self.clientConnectionFailed(connector, reason)
                return
        super().clientConnectionLost(connector, reason)


def startTLS(
    transport: Any,
    contextFactory: object,
    isClient: bool,
    serverHostname: str | None = None,
) -> TLSProtocol:
    """Switch a live connection to TLS (STARTTLS): returns the new transport.

    ``transport`` must have a ``protocol`` attribute it delivers data to (plait's stream
    transports and ``plait.testing``'s fakes do). Bytes written before are sent first, in the
    clear; the protocol's ``transport`` becomes the ``TLSProtocol``, and what it writes before
    the handshake completes is sent once it has. A ``handshakeCompleted()`` method on the
    protocol is called then; a failed handshake reaches its ``connectionLost``.
    """
    protocol = transport.protocol
    if isinstance(protocol, TLSProtocol):
        raise RuntimeError("TLS was already started on this connection")
    tls = TLSProtocol(
        None, protocol, contextFactory, isClient, serverHostname, wrappedConnected=True
    )
    transport.protocol = tls
    protocol.transport = tls
    tls.makeConnection(transport)
    return tls
