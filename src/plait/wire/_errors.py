"""The error tree shared by every machine in ``plait.wire`` (after h11's split)."""

from __future__ import annotations

__all__ = ["LocalProtocolError", "NetstringParseError", "ProtocolError", "RemoteProtocolError"]


class ProtocolError(Exception):
    """Something went wrong with a wire protocol; see the two subclasses for whose fault."""


class LocalProtocolError(ProtocolError):
    """We misused a machine: sent what the protocol cannot carry, or fed a failed machine."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that break the protocol; the connection cannot go on."""


class NetstringParseError(RemoteProtocolError):
    """The peer sent something that is not a netstring (or one longer than allowed)."""
