"""The HTTP/1.1 server protocol and ``Headers`` (see ``plait.web``)."""

from plait.web._headers import Headers
from plait.web._http import HTTPChannel

__all__ = ["HTTPChannel", "Headers"]
