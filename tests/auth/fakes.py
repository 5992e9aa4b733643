"""Fakes shared by the plait.auth tests: a realm and a reactor whose thread pool is inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plait.defer import Failure


class RecordingRealm:
    """Hands out ``("avatar", avatarId)`` for any interface and records logouts."""

    def __init__(self) -> None:
        self.requests: list[tuple[Any, Any, tuple[Any, ...]]] = []
        self.loggedOut: list[Any] = []

    def requestAvatar(
        self, avatarId: Any, mind: Any, *interfaces: Any
    ) -> tuple[Any, Any, Callable[[], None]]:
        """Return the first interface, a tuple avatar and a recording logout."""
        self.requests.append((avatarId, mind, interfaces))
        return interfaces[0], ("avatar", avatarId), lambda: self.loggedOut.append(avatarId)


class InlinePool:
    """A thread pool that runs each call at once, in the calling thread, and counts them."""

    def __init__(self) -> None:
        self.calls = 0

    def callInThreadWithCallback(
        self, onResult: Callable[[bool, Any], object], f: Callable[..., Any], *a: Any, **kw: Any
    ) -> None:
        """Run ``f`` now and report to ``onResult`` as a real pool would."""
        self.calls += 1
        try:
            result = f(*a, **kw)
        except Exception:
            onResult(False, Failure())
        else:
            onResult(True, result)


class InlineThreadReactor:
    """Just the threading part of a reactor, run inline so tests need no real threads."""

    def __init__(self) -> None:
        self.pool = InlinePool()

    def getThreadPool(self) -> InlinePool:
        """The inline pool."""
        return self.pool

    def callFromThread(self, f: Callable[..., Any], *a: Any, **kw: Any) -> None:
        """Call at once (we are already on the 'loop thread')."""
        f(*a, **kw)

    def callInThread(self, f: Callable[..., Any], *a: Any, **kw: Any) -> None:
        """Call at once."""
        f(*a, **kw)
