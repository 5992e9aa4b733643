"""``listenSSL`` / ``connectSSL``: TCP with ``plait.tls``'s protocol wrapper on top.

``contextFactory`` is an ``ssl.SSLContext``, anything with ``getContext()``, or the options
from ``plait.tls.serverOptions`` / ``clientOptions``. The wrapped protocol's ``connectionMade``
runs once the TLS handshake has completed; a client whose handshake fails (certificate not
verified, the peer not speaking TLS...) gets ``clientConnectionFailed`` with a
``plait.tls.TLSError`` / ``TLSVerificationError``. ``connectSSL`` sends ``host`` as SNI and
checks it against the certificate when the context factory names no host of its own.
"""

from __future__ import annotations

from typing import Any

from plait.tls import TLSFactory

from ._tcp import TCPConnector, TCPPort

__all__ = ["SSLReactorMixin"]


class SSLReactorMixin:
    """``IReactorSSL`` for the POSIX reactors (needs ``listenTCP``/``connectTCP``).

    ``sslHandshakeTimeout`` (seconds, default 30): a TLS handshake not done by then aborts
    its connection (a ``TLSError``), so silent or slow peers cannot hold connections open.
    """

    sslHandshakeTimeout: float | None = 30.0

    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
    ) -> TCPPort:
        """Listen for TLS connections on a TCP port; returns the ``IListeningPort``."""
        wrapped = TLSFactory(
            contextFactory, False, factory, clock=self, handshakeTimeout=self.sslHandshakeTimeout
        )
        p: TCPPort = self.listenTCP(port, wrapped, backlog, interface)  # type: ignore[attr-defined]
        return p

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> TCPConnector:
        """Connect to ``host:port`` over TCP and start TLS as the client."""
        wrapped = TLSFactory(
            contextFactory,
            True,
            factory,
            serverHostname=host,
            clock=self,
            handshakeTimeout=self.sslHandshakeTimeout,
        )
        c: TCPConnector = self.connectTCP(host, port, wrapped, timeout, bindAddress)  # type: ignore[attr-defined]
        return c
