"""TLS for any transport, as a protocol wrapper over ``ssl.MemoryBIO`` (paper §3; DESIGN.md §8).

- ``TLSProtocol`` / ``TLSFactory(contextFactory, isClient, wrappedFactory)``: wrap any
  protocol (factory) in TLS. The wrapped protocol sees a transport with the usual methods
  (``write``, ``loseConnection``, ``abortConnection``, ``getHost``/``getPeer`` forwarded,
  producers) plus ``getPeerCertificate()``, ``negotiatedProtocol`` (ALPN),
  ``getTLSVersion()``, ``getCipher()`` and ``whenHandshakeDone()``. Its ``connectionMade``
  runs **after** the handshake has completed.
- ``startTLS(transport, contextFactory, isClient)``: switch a live connection (STARTTLS);
  plait's stream transports offer it as ``transport.startTLS(contextFactory)``.
- Context factories: an ``ssl.SSLContext``, anything with ``getContext()``, or the options
  built by ``serverOptions(...)`` (certificate, key, chain, SNI, ALPN, client certificates)
  and ``clientOptions(hostname, ...)`` (verification against the system trust store and
  host-name checking ON by default; ``insecureNoVerify=True`` turns it off).
- The reactor's ``listenSSL``/``connectSSL`` and the ``ssl:``/``tls:`` endpoint strings are
  built on these.

Error tree (the classes are ``plait.protocol.SSLError``s, hence ``ConnectError``s)::

    plait.protocol.SSLError
    +-- TLSError                 the handshake failed, or the TLS stream was corrupt; .reason
        |                        is OpenSSL's code ("WRONG_VERSION_NUMBER": not TLS at all)
        +-- TLSVerificationError a certificate was rejected: .verifyCode, .verifyMessage
                                 ("certificate verify failed: unable to get local issuer
                                 certificate", "... Hostname mismatch ...", "... certificate
                                 has expired"), or the peer rejected ours / required one

How a TLS connection ends (``connectionLost``'s reason): ``ConnectionDone`` only after a
``close_notify`` (from either side); ``ConnectionLost`` if the stream was cut without one;
``ConnectionAborted`` after ``abortConnection``; a ``TLSError`` if TLS failed.
"""

from ._errors import TLSError, TLSVerificationError
from ._options import (
    ClientTLSOptions,
    IOpenSSLContextFactory,
    PEMSource,
    ServerTLSOptions,
    clientOptions,
    contextOf,
    serverOptions,
)
from ._protocol import TLSFactory, TLSProtocol, startTLS

__all__ = [
    "ClientTLSOptions",
    "IOpenSSLContextFactory",
    "PEMSource",
    "ServerTLSOptions",
    "TLSError",
    "TLSFactory",
    "TLSProtocol",
    "TLSVerificationError",
    "clientOptions",
    "contextOf",
    "serverOptions",
    "startTLS",
]
