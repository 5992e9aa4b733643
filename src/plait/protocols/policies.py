"""The policy wrappers under the paper's module name (``plait.protocols.policies``).

The same objects as ``plait.protocols`` exports; see its docstring.
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
