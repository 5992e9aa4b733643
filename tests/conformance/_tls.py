"""The TLS transport kind of the conformance suite: listenSSL/connectSSL on 127.0.0.1.

The certificate (for 127.0.0.1, from a CA made once per process) is verified by the client,
so every conformance test over this kind also checks that verification passes on real sockets.
"""

from __future__ import annotations

import socket
from functools import cache
from typing import Any

from plait.tls import ClientTLSOptions, ServerTLSOptions, clientOptions, serverOptions


@cache
def _options() -> tuple[ServerTLSOptions, ClientTLSOptions]:
    from ..tls.certs import CA

    ca = CA("conformance CA")
    leaf = ca.issue("127.0.0.1", "localhost")
    return (
        serverOptions(leaf.certPEM, leaf.keyPEM),
        clientOptions("127.0.0.1", trustRoots=ca.certPEM),
    )


class TLS:
    """TLS over TCP/IPv4 (a ``TransportKind``)."""

    name = "tls"
    family = socket.AF_INET
    tls = True

    def skipReason(self) -> str | None:
        """Available wherever ``cryptography`` (to make the certificates) is."""
        try:
            import cryptography  # noqa: F401
        except ImportError:
            return "cryptography is needed to make test certificates"
        return None

    def listen(self, reactor: Any, factory: Any, backlog: int = 50) -> Any:
        """``listenSSL`` on 127.0.0.1, an ephemeral port."""
        return reactor.listenSSL(0, factory, _options()[0], backlog=backlog, interface="127.0.0.1")

    def connect(self, reactor: Any, port: Any, factory: Any, timeout: float = 5) -> Any:
        """``connectSSL`` to the port, verifying its certificate."""
        return reactor.connectSSL(
            "127.0.0.1", port.getHost().port, factory, _options()[1], timeout=timeout
        )
