"""TCP port forwarding (``plait portforward``): ``ProxyFactory(endpoint)`` relays each inbound
connection to a new connection made through a client endpoint.

- ``ProxyServer``/``ProxyClient``: the inbound and outbound sides; each side's transport is
  the other's streaming producer (backpressure both ways); EOF from one peer is passed on with
  ``loseWriteConnection``; losing either side loses the other.
- ``relay(one, other)``: join two connected sides (used by ``plait.protocols.socks`` too).

Errors: none of its own. A failed outbound connection is logged (warn) and the inbound
connection is closed.
"""

from plait.protocols._portforward import ProxyClient, ProxyFactory, ProxyServer, relay

__all__ = ["ProxyClient", "ProxyFactory", "ProxyServer", "relay"]
