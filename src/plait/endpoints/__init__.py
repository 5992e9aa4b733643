"""Endpoints: where to listen and where to connect, as objects and as strings (L4).

A server endpoint's ``listen(factory)`` fires with the listening port; a client endpoint's
``connect(factory)`` fires with the connected protocol (after its ``connectionMade``), so
programs name a place once (``serverFromString(reactor, "tcp:8080:interface=127.0.0.1")``)
and stop caring whether it is TCP, IPv6 or a Unix socket.

- ``TCP4ServerEndpoint``, ``TCP6ServerEndpoint``, ``UNIXServerEndpoint``,
  ``AdoptedStreamServerEndpoint``: ``IStreamServerEndpoint``s.
- ``TCP4ClientEndpoint``, ``TCP6ClientEndpoint``, ``UNIXClientEndpoint``, ``HostnameEndpoint``
  (resolves a name, then races its addresses, RFC 8305 "happy eyeballs"):
  ``IStreamClientEndpoint``s.
- ``serverFromString`` / ``clientFromString`` parse descriptions (``kind:arg:key=value``, with
  ``\\`` escaping ``:``, ``=`` and itself); ``registerServerParser`` / ``registerClientParser``
  and the entry-point groups ``plait.endpoints.server`` / ``plait.endpoints.client`` add kinds.
- ``connectProtocol(endpoint, protocol)`` connects one protocol instance.
- ``wrapServerTLS`` / ``wrapClientTLS`` put TLS (``plait.tls``) on any endpoint; the ``ssl:``
  server and ``tls:``/``ssl:`` client strings (entry-point plugins) are TLS over TCP and
  verify certificates by default. A failed handshake fails ``connect`` with
  ``plait.tls.TLSVerificationError`` / ``TLSError``.

Errors (the exception classes live in ``plait.protocol``; the Deferreds fail with them):

- ``listen`` fails with ``CannotListenError`` (``.interface``, ``.port``, ``.socketError``);
  ``AdoptedStreamServerEndpoint.listen`` a second time fails with ``AlreadyListened``.
- ``connect`` fails with a ``ConnectError`` subclass: ``ConnectionRefusedError``,
  ``NoRouteError``, ``TCPTimedOutError``, ``TimeoutError`` (the endpoint's ``timeout``
  passed)...; each carries ``.osError``/``.errno`` when the OS said why.
- ``connect`` fails with ``DNSLookupError`` when a name has no address (``HostnameEndpoint``,
  ``TCP6ClientEndpoint`` given a name); ``HostnameEndpoint`` fails with the last attempt's
  failure when every address failed.
- cancelling a ``connect`` Deferred stops the attempt and fails it with
  ``ConnectingCancelledError`` (``.address`` is where it was going).
- ``NoProtocol`` (defined here): the factory's ``buildProtocol`` returned None; an exception
  from ``buildProtocol`` fails the ``connect`` Deferred with that exception.
- ``serverFromString`` / ``clientFromString`` raise ``ValueError`` for an unknown kind or bad
  arguments, naming the description.
"""

from ._hostname import HostnameEndpoint
from ._interfaces import IStreamClientEndpoint, IStreamServerEndpoint
from ._stream import (
    AdoptedStreamServerEndpoint,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
)
from ._strings import (
    ClientParser,
    ServerParser,
    clientFromString,
    registerClientParser,
    registerServerParser,
    serverFromString,
)
from ._tls import TLSWrapperClientEndpoint, TLSWrapperServerEndpoint, wrapClientTLS, wrapServerTLS
from ._wrapping import NoProtocol, connectProtocol

__all__ = [
    "AdoptedStreamServerEndpoint",
    "ClientParser",
    "HostnameEndpoint",
    "IStreamClientEndpoint",
    "IStreamServerEndpoint",
    "NoProtocol",
    "ServerParser",
    "TCP4ClientEndpoint",
    "TCP4ServerEndpoint",
    "TCP6ClientEndpoint",
    "TCP6ServerEndpoint",
    "TLSWrapperClientEndpoint",
    "TLSWrapperServerEndpoint",
    "UNIXClientEndpoint",
    "UNIXServerEndpoint",
    "clientFromString",
    "connectProtocol",
    "registerClientParser",
    "registerServerParser",
    "serverFromString",
    "wrapClientTLS",
    "wrapServerTLS",
]
