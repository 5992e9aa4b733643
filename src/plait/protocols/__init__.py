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

Framing (``plait.protocols.framing``, paper §7): ``LineReceiver`` (line mode / raw mode),
``LineOnlyReceiver``, ``NetstringReceiver``, ``IntNStringReceiver`` and
``Int8/16/32StringReceiver``, thin adapters over the ``plait.wire`` framing machines. Their
errors are ``plait.wire``'s (``LocalProtocolError`` for a string too long to send); bad input
from the peer is logged and loses the connection.

Servers from the paper's Table 1, as submodules: ``plait.protocols.telnet``
(``TelnetProtocol``, ``TelnetTransport``), ``plait.protocols.socks`` (``SOCKSFactory``: SOCKS4,
4a and 5, refusing every destination no ``allow`` rule admits) and
``plait.protocols.portforward`` (``ProxyFactory``, ``relay``). Each documents its own errors.

Errors: the policies raise none of their own. A refused connection is ``buildProtocol``
returning None (the transport closes it); a missing clock is a ``RuntimeError`` at connection
time.
"""

from plait.protocols._framing import (
    Int8StringReceiver,
    Int16StringReceiver,
    Int32StringReceiver,
    IntNStringReceiver,
    LineOnlyReceiver,
    LineReceiver,
    NetstringReceiver,
)
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
    "IClock",
    "Int8StringReceiver",
    "Int16StringReceiver",
    "Int32StringReceiver",
    "IntNStringReceiver",
    "LimitConnectionsByPeer",
    "LimitTotalConnectionsFactory",
    "LineOnlyReceiver",
    "LineReceiver",
    "NetstringReceiver",
    "ThrottlingFactory",
    "ThrottlingProtocol",
    "TimeoutFactory",
    "TimeoutMixin",
    "TimeoutProtocol",
    "TrafficLoggingFactory",
    "TrafficLoggingProtocol",
]
