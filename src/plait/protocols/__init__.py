"""Reusable protocols and protocol wrappers (layer L5).

Policies (``plait.protocols.policies``, paper §4.4): wrappers that stand between any
transport and any protocol and indirect its events:

- ``ThrottlingFactory`` (``ThrottlingProtocol``): connection count, read and write bandwidth
  limits in bytes per second, on an injected clock.
- ``LimitTotalConnectionsFactory``: at most ``connectionLimit`` connections at once.
- ``LimitConnectionsByPeer``: at most ``maxConnectionsPerPeer`` connections per peer host.
- ``TimeoutMixin``: ``setTimeout``/``resetTimeout``/``timeoutConnection`` for any protocol;
  ``TimeoutFactory`` (``TimeoutProtocol``) adds an idle timeout to any factory's protocols.
- ``TrafficLoggingFactory`` (``TrafficLoggingProtocol``): every event and byte count through
  ``plait.log``, for debugging.
- ``IClock``: the ``seconds``/``callLater`` slice of ``IReactorTime`` the policies use.

Errors: the policies raise none of their own. A refused connection is ``buildProtocol``
returning None (the transport closes it); a missing clock is a ``RuntimeError`` at connection
time.
"""

from plait.protocols._policies import (
    IClock,
    LimitConnectionsByPeer,
    LimitTotalConnectionsFactory,
    ThrottlingFactory,
    ThrottlingProtocol,
    TimeoutFactory,
    TimeoutMixin,
    TimeoutProtocol,
    TrafficLoggingFactory,
    TrafficLoggingProtocol,
)

__all__ = [
    # policies
    "IClock",
    "LimitConnectionsByPeer",
    "LimitTotalConnectionsFactory",
    "ThrottlingFactory",
    "ThrottlingProtocol",
    "TimeoutFactory",
    "TimeoutMixin",
    "TimeoutProtocol",
    "TrafficLoggingFactory",
    "TrafficLoggingProtocol",
]
