"""``ManholeService``: a ``StreamServerEndpointService`` serving ``plait.ssh.manhole``'s SSH
factory (the service tree is this layer's; the manhole itself is ``plait.ssh``'s)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._service import StreamServerEndpointService

if TYPE_CHECKING:
    from plait.auth import Portal

__all__ = ["ManholeService"]


class ManholeService(StreamServerEndpointService):
    """A service that serves a manhole while it runs::

        ManholeService(reactor, "tcp:2222:interface=127.0.0.1", {"app": app},
                       authorizedKeys="/etc/myapp/manhole_keys").setServiceParent(application)

    ``endpoint``: an endpoint string or a server endpoint; the other arguments are
    ``plait.ssh.manhole.manholeFactory``'s (``ValueError`` without a way to log in). Listening,
    ``whenListening`` and stopping are ``StreamServerEndpointService``'s; open manhole sessions
    stay when it stops, until they end.
    """

    def __init__(
        self,
        reactor: Any,
        endpoint: Any,
        namespace: Mapping[str, Any] | None = None,
        portal: Portal | None = None,
        **factoryOptions: Any,
    ) -> None:
        # Imported here: plait.ssh needs the ssh extra, and ``import plait.app`` must not.
        from plait.endpoints import serverFromString
        from plait.ssh.manhole import manholeFactory

        if isinstance(endpoint, str):
            endpoint = serverFromString(reactor, endpoint)
        super().__init__(endpoint, manholeFactory(reactor, namespace, portal, **factoryOptions))
        self.reactor = reactor
