"""Static files (see ``plait.web._static``)."""

from plait.web._static import File, parseRange

__all__ = ["File", "parseRange"]
