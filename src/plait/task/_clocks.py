"""The narrow slices of ``IReactorTime`` the tasks need.

Accepting these rather than the whole ``IReactorTime`` lets any clock with the methods used
(a reactor, ``plait.testing.Clock``, an adapter) be passed, whatever its other methods return.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, Protocol

from plait.reactor._time import IDelayedCall

__all__ = ["ICallLater", "ITimeSource"]

_P = ParamSpec("_P")


class ICallLater(Protocol):
    """Something that can schedule a call: the ``callLater`` of ``IReactorTime``."""

    def callLater(
        self, delay: float, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> IDelayedCall:
        """Call ``callable(*args, **kw)`` ``delay`` seconds from now."""
        ...


class ITimeSource(ICallLater, Protocol):
    """``callLater`` plus ``seconds()``: what ``LoopingCall`` needs of its clock."""

    def seconds(self) -> float:
        """The current time in seconds."""
        ...
