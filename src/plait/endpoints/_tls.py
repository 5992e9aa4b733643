"""TLS endpoints: wrap any stream endpoint in TLS, and the ``ssl:`` / ``tls:`` strings.

- ``wrapServerTLS(contextFactory, endpoint)``: every connection ``endpoint`` accepts speaks
  TLS (``TLSWrapperServerEndpoint``).
- ``wrapClientTLS(contextFactory, endpoint)``: connect through ``endpoint`` (TCP, Unix, an SSH
  channel...) and start TLS as the client (``TLSWrapperClientEndpoint``). ``connect`` fires
  with the protocol once the handshake completed (its ``connectionMade`` has run) or fails
  with ``TLSVerificationError`` / ``TLSError`` / the connect error.

Strings (plugins of ``serverFromString`` / ``clientFromString``, registered as entry points):

- server ``ssl:PORT:privateKey=key.pem[:certKey=cert.pem][:extraCertChain=chain.pem]
  [:interface=IP][:backlog=50][:trustRoots=ca.pem:requireClientCertificate=1][:alpn=h2,http/1.1]``
  (``certKey`` defaults to ``privateKey``: one PEM may hold both).
- client ``tls:HOST:PORT[:timeout=30][:bindAddress=IP][:trustRoots=PATH]
  [:certificate=cert.pem:privateKey=key.pem][:alpn=...][:endpoint=DESCRIPTION]
  [:insecureNoVerify=1]``; ``ssl:`` is the same. The certificate is verified for ``HOST``
  against the system trust store (or ``trustRoots``: a PEM file or a directory of them);
  ``endpoint`` is another client description to run TLS over, its colons escaped
  (``tls:localhost:endpoint=unix\\:/run/app.sock``; ``PORT`` is then not needed).
"""

from __future__ import annotations

from typing import Any

from plait.defer import Deferred, Failure
from plait.protocol import ConnectingCancelledError, IListeningPort, IProtocol
from plait.tls import TLSFactory, TLSProtocol, clientOptions, serverOptions

from ._hostname import HostnameEndpoint
from ._interfaces import IStreamClientEndpoint, IStreamServerEndpoint
from ._stream import TCP4ServerEndpoint
from ._strings import _bind, _flag, _float, _int, clientFromString

__all__ = [
    "TLSWrapperClientEndpoint",
    "TLSWrapperServerEndpoint",
    "parseSSLServer",
    "parseTLSClient",
    "wrapClientTLS",
    "wrapServerTLS",
]


class TLSWrapperServerEndpoint:
    """A server endpoint whose connections are wrapped in TLS.

    With a ``clock`` (the reactor), a handshake not done within ``handshakeTimeout`` seconds
    aborts its connection.
    """

    def __init__(
        self,
        contextFactory: object,
        wrappedEndpoint: IStreamServerEndpoint,
        clock: Any = None,
        handshakeTimeout: float | None = 30.0,
    ) -> None:
        self._contextFactory = contextFactory
        self._wrappedEndpoint = wrappedEndpoint
        self._clock = clock
        self._handshakeTimeout = handshakeTimeout

    def listen(self, protocolFactory: Any) -> Deferred[IListeningPort]:
        """Listen on the wrapped endpoint with a ``TLSFactory`` around ``protocolFactory``."""
        factory = TLSFactory(
            self._contextFactory,
            False,
            protocolFactory,
            clock=self._clock,
            handshakeTimeout=self._handshakeTimeout,
        )
        return self._wrappedEndpoint.listen(factory)


class TLSWrapperClientEndpoint:
    """A client endpoint that starts TLS over another endpoint's connection."""

    def __init__(
        self,
        contextFactory: object,
        wrappedEndpoint: IStreamClientEndpoint,
        serverHostname: str | None = None,
    ) -> None:
        self._contextFactory = contextFactory
        self._wrappedEndpoint = wrappedEndpoint
        self._serverHostname = serverHostname

    def connect(self, protocolFactory: Any) -> Deferred[IProtocol]:
        """Connect, then handshake; fires with ``protocolFactory``'s protocol."""
        tlsFactory = TLSFactory(
            self._contextFactory, True, protocolFactory, serverHostname=self._serverHostname
        )
        state: dict[str, Any] = {}

        def cancel(d: Deferred[IProtocol]) -> None:
            inner = state.get("inner")
            tls: TLSProtocol | None = state.get("tls")
            d.errback(ConnectingCancelledError(None))
            if tls is not None:
                tls.abortConnection()
            elif inner is not None:
                inner.cancel()

        result: Deferred[IProtocol] = Deferred(cancel)

        def connected(tls: Any) -> Deferred[Any] | None:
            if result.called:  # cancelled meanwhile
                tls.abortConnection()
                return None
            state["tls"] = tls
            return tls.whenHandshakeDone().addCallback(lambda _: tls.wrappedProtocol)  # type: ignore[no-any-return]

        def done(outcome: object) -> None:
            if result.called:
                if isinstance(outcome, Failure):
                    outcome.trap(Exception)  # consumed: the caller cancelled
                return
            if isinstance(outcome, Failure):
                result.errback(outcome)
            else:
                result.callback(outcome)  # type: ignore[arg-type]

        inner = self._wrappedEndpoint.connect(tlsFactory)
        state["inner"] = inner
        inner.addCallback(connected).addBoth(done)
        return result


def wrapServerTLS(
    contextFactory: object,
    wrappedEndpoint: IStreamServerEndpoint,
    clock: Any = None,
    handshakeTimeout: float | None = 30.0,
) -> TLSWrapperServerEndpoint:
    """``wrappedEndpoint`` with TLS on every accepted connection (handshakes bounded in time
    when a ``clock``, usually the reactor, is given)."""
    return TLSWrapperServerEndpoint(contextFactory, wrappedEndpoint, clock, handshakeTimeout)


def wrapClientTLS(
    contextFactory: object,
    wrappedEndpoint: IStreamClientEndpoint,
    serverHostname: str | None = None,
) -> TLSWrapperClientEndpoint:
    """``wrappedEndpoint`` with TLS started as the client (Twisted's name).

    ``contextFactory`` is usually ``plait.tls.clientOptions(hostname)``; ``serverHostname`` is
    the name to verify when it is a bare ``ssl.SSLContext``.
    """
    return TLSWrapperClientEndpoint(contextFactory, wrappedEndpoint, serverHostname)


def _alpn(value: str | None) -> list[str] | None:
    return None if value is None else [p for p in value.split(",") if p]


def parseSSLServer(reactor: Any, *args: str, **kwargs: str) -> TLSWrapperServerEndpoint:
    """``ssl:PORT:privateKey=...[:certKey=...]...`` (see the module docstring)."""
    names = (
        "port",
        "privateKey",
        "certKey",
        "extraCertChain",
        "interface",
        "backlog",
        "trustRoots",
        "requireClientCertificate",
        "alpn",
    )
    o = _bind("ssl", names, ("port", "privateKey"), args, kwargs)
    require = _flag("ssl", "requireClientCertificate", o.get("requireClientCertificate", "0"))
    chain = o.get("extraCertChain")
    options = serverOptions(
        o.get("certKey", o["privateKey"]),
        o["privateKey"],
        extraCertChain=() if chain is None else (chain,),
        acceptableProtocols=_alpn(o.get("alpn")),
        requireClientCertificate=bool(require),
        trustRoots=o.get("trustRoots"),
    )
    tcp = TCP4ServerEndpoint(
        reactor,
        _int("ssl", "port", o["port"]),
        backlog=_int("ssl", "backlog", o.get("backlog", "50")),
        interface=o.get("interface", ""),
    )
    return TLSWrapperServerEndpoint(options, tcp, clock=reactor, handshakeTimeout=30.0)


def parseTLSClient(reactor: Any, *args: str, **kwargs: str) -> TLSWrapperClientEndpoint:
    """``tls:HOST:PORT[:trustRoots=...]...`` (see the module docstring)."""
    if len(args) == 1 and "host" in kwargs and "port" not in kwargs:
        kwargs["port"], args = args[0], ()
    names = (
        "host",
        "port",
        "timeout",
        "bindAddress",
        "trustRoots",
        "certificate",
        "privateKey",
        "alpn",
        "endpoint",
        "insecureNoVerify",
    )
    required = ("host",) if "endpoint" in kwargs else ("host", "port")
    o = _bind("tls", names, required, args, kwargs)
    host = o["host"]
    certificate, privateKey = o.get("certificate"), o.get("privateKey")
    if privateKey is not None and certificate is None:
        raise ValueError("tls: privateKey needs certificate")
    clientCertificate: Any = None
    if certificate is not None:
        clientCertificate = certificate if privateKey is None else (certificate, privateKey)
    options = clientOptions(
        host,
        trustRoots=o.get("trustRoots"),
        clientCertificate=clientCertificate,
        acceptableProtocols=_alpn(o.get("alpn")),
        insecureNoVerify=bool(_flag("tls", "insecureNoVerify", o.get("insecureNoVerify", "0"))),
    )
    wrapped: IStreamClientEndpoint
    if "endpoint" in o:
        wrapped = clientFromString(reactor, o["endpoint"])
    else:
        bindAddress = o.get("bindAddress")
        wrapped = HostnameEndpoint(
            reactor,
            host,
            _int("tls", "port", o["port"]),
            timeout=_float("tls", "timeout", o.get("timeout", "30")),
            bindAddress=None if bindAddress is None else (bindAddress, 0),
        )
    return TLSWrapperClientEndpoint(options, wrapped)
