"""The HTTP client's error tree (see ``plait.web.client``)."""

from __future__ import annotations

from typing import Any

from plait.defer import Failure

__all__ = [
    "PartialDownloadError",
    "RedirectLimitError",
    "RequestTransmissionFailed",
    "ResponseDone",
    "ResponseFailed",
    "ResponseNeverReceived",
    "SchemeNotSupported",
]


class ResponseDone(Exception):
    """The body was delivered completely (the reason given to ``connectionLost``)."""


class _WrapperException(Exception):
    def __init__(self, reasons: list[Failure]) -> None:
        super().__init__(reasons)
        self.reasons = reasons

    def __str__(self) -> str:
        inner = "; ".join(f"{r.type.__name__}: {r.getErrorMessage()}" for r in self.reasons)
        return f"{type(self).__name__}({inner})"


class ResponseFailed(_WrapperException):
    """The response could not be read completely; ``reasons`` are the Failures why."""


class ResponseNeverReceived(ResponseFailed):
    """The connection failed before any byte of the response arrived."""


class RequestTransmissionFailed(_WrapperException):
    """Sending the request (its head or the body producer) failed; ``reasons`` say why."""


class PartialDownloadError(ResponseFailed):
    """The body was cut short: ``response`` is what was known, ``partial`` the bytes read."""

    def __init__(self, reasons: list[Failure], response: Any, partial: bytes) -> None:
        super().__init__(reasons)
        self.response = response
        self.partial = partial


class RedirectLimitError(Exception):
    """More redirects than ``redirectLimit``: ``location`` is where the last one pointed."""

    def __init__(self, location: bytes, response: Any) -> None:
        super().__init__(f"redirect limit exceeded (last Location {location!r})")
        self.location = location
        self.response = response


class SchemeNotSupported(Exception):
    """The URI's scheme is not ``http`` or ``https``."""
