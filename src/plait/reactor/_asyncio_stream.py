"""TCP and Unix stream connections on asyncio's transports, for ``AsyncioReactor``."""

from __future__ import annotations

__all__ = ["AsyncioStreamMixin"]


class AsyncioStreamMixin:
    """Routes stream connections onto asyncio transports."""
