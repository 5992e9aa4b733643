"""An HTTP/1.1 client (L6): ``Agent`` and the agents that wrap it.

- ``Agent(reactor, connectTimeout=None, pool=None, tlsPolicy=None, readTimeout=None)``:
  ``request(method, uri, headers=None, bodyProducer=None)`` fires with a ``Response``
  (``version``, ``code``, ``phrase``, ``headers``, ``length``, ``deliverBody(protocol)``) once
  its head has arrived; ``readBody(response)`` fires with the body. ``https://`` is TLS with
  the certificate and host name verified (``BrowserLikePolicyForHTTPS``, ``trustRoots`` to
  trust a private CA). Cancelling the Deferred aborts the connection.
- ``HTTPConnectionPool(reactor, persistent=True, maxPersistentPerHost=2,
  cachedConnectionTimeout=240)``: keep-alive connections reused across requests; a reused
  connection that fails before any response byte is retried once for idempotent methods.
- ``RedirectAgent(agent, redirectLimit=20)``, ``ContentDecoderAgent(agent, [(b"gzip",
  GzipDecoder), (b"deflate", DeflateDecoder)])``.
- ``ProxyAgent(endpoint, reactor)``: ``http://`` in absolute form through the proxy,
  ``https://`` through a CONNECT tunnel with verified TLS inside it.
- ``BytesBodyProducer(body)``: a request body from bytes.

The machine underneath is ``plait.wire.http_client``.

Errors::

    ResponseFailed (.reasons: Failures)  the response could not be read completely
    +-- ResponseNeverReceived            the connection failed before any response byte
    |                                    (a read timeout: reasons hold plait.defer.TimeoutError)
    +-- PartialDownloadError             readBody: the body was cut; .partial, .response
    RequestTransmissionFailed            sending the request or its body failed
    RedirectLimitError                   more than redirectLimit redirects (.location)
    TunnelError                          the proxy refused CONNECT (.code)
    SchemeNotSupported                   not http or https
    connect errors (plait.protocol.ConnectError subclasses, plait.tls.TLSVerificationError)
    pass through unchanged; a cancelled request fails with plait.defer.CancelledError.
"""

from plait.web._client_agent import (
    URI,
    Agent,
    BrowserLikePolicyForHTTPS,
    HTTPConnectionPool,
    ProxyAgent,
    TunnelError,
)
from plait.web._client_errors import (
    PartialDownloadError,
    RedirectLimitError,
    RequestTransmissionFailed,
    ResponseDone,
    ResponseFailed,
    ResponseNeverReceived,
    SchemeNotSupported,
)
from plait.web._client_protocol import (
    UNKNOWN_LENGTH,
    BytesBodyProducer,
    HTTP11ClientProtocol,
    Request,
    Response,
    readBody,
)
from plait.web._client_wrappers import (
    ContentDecoderAgent,
    DeflateDecoder,
    GzipDecoder,
    RedirectAgent,
)

__all__ = [
    "UNKNOWN_LENGTH",
    "URI",
    "Agent",
    "BrowserLikePolicyForHTTPS",
    "BytesBodyProducer",
    "ContentDecoderAgent",
    "DeflateDecoder",
    "GzipDecoder",
    "HTTP11ClientProtocol",
    "HTTPConnectionPool",
    "PartialDownloadError",
    "ProxyAgent",
    "RedirectAgent",
    "RedirectLimitError",
    "Request",
    "RequestTransmissionFailed",
    "Response",
    "ResponseDone",
    "ResponseFailed",
    "ResponseNeverReceived",
    "SchemeNotSupported",
    "TunnelError",
    "readBody",
]
