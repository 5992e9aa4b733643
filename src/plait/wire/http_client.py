"""The HTTP/1.1 client as a sans-IO machine: see ``plait.wire._http_client`` for the contract."""

from plait.wire._http_client import (
    EndOfResponse,
    HTTPClientMachine,
    InformationalResponse,
    ResponseBodyReceived,
    ResponseReceived,
    formatRequestHead,
)

__all__ = [
    "EndOfResponse",
    "HTTPClientMachine",
    "InformationalResponse",
    "ResponseBodyReceived",
    "ResponseReceived",
    "formatRequestHead",
]
