"""The endpoint interfaces: where to listen and where to connect, as objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from plait.defer import Deferred
    from plait.protocol import IListeningPort, IProtocol, IProtocolFactory

__all__ = ["IStreamClientEndpoint", "IStreamServerEndpoint"]


@runtime_checkable
class IStreamServerEndpoint(Protocol):
    """A place a stream server can listen (a TCP port, a Unix socket path, an adopted fd...)."""

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """Listen with ``protocolFactory``; fires with the ``IListeningPort`` or fails.

        Failures are usually ``CannotListenError`` (the port is taken, no permission...).
        """
        ...


@runtime_checkable
class IStreamClientEndpoint(Protocol):
    """A place a stream client can connect to (a TCP host and port, a Unix socket path...)."""

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """Connect, building a protocol with ``protocolFactory``.

        Fires with the protocol once its ``connectionMade`` has run, or fails with a
        ``ConnectError`` subclass (or ``DNSLookupError``). Cancelling the Deferred stops the
        attempt and fails it with ``ConnectingCancelledError``.
        """
        ...
