"""The reactor: plait's event loop and the services it offers (DESIGN.md §3).

Scheduling (``plait.reactor._time``): ``IReactorTime``, ``IDelayedCall``, ``DelayedCall``,
``TimerQueue`` (the ordered queue of delayed calls shared by every reactor and by
``plait.testing.Clock``), and the errors ``AlreadyCalled`` and ``AlreadyCancelled`` (both
``ValueError``), raised when a call that already ran or was cancelled is changed.
"""

from ._time import (
    AlreadyCalled,
    AlreadyCancelled,
    DelayedCall,
    IDelayedCall,
    IReactorTime,
    TimerQueue,
)

__all__ = [
    "AlreadyCalled",
    "AlreadyCancelled",
    "DelayedCall",
    "IDelayedCall",
    "IReactorTime",
    "TimerQueue",
]
