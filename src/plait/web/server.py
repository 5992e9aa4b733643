"""``Site``, ``Request``, ``Session`` (see ``plait.web``)."""

from plait.web._resource import NOT_DONE_YET
from plait.web._server import Request, Session, Site, combinedLogLine

__all__ = ["NOT_DONE_YET", "Request", "Session", "Site", "combinedLogLine"]
