"""Address objects: where a connection or datagram comes from or goes to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["HostnameAddress", "IPv4Address", "IPv6Address", "UNIXAddress"]


@dataclass(frozen=True, slots=True)
class IPv4Address:
    """An IPv4 socket endpoint: ``type`` is ``'TCP'`` or ``'UDP'``, ``host`` a dotted quad."""

    type: Literal["TCP", "UDP"]
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class IPv6Address:
    """An IPv6 socket endpoint, with the flow information and scope id of ``sockaddr_in6``."""

    type: Literal["TCP", "UDP"]
    host: str
    port: int
    flowInfo: int = 0
    scopeID: int | str = 0


@dataclass(frozen=True, slots=True)
class UNIXAddress:
    """A Unix socket path; ``None`` for an unnamed socket (e.g. one end of a socketpair)."""

    name: str | bytes | None


@dataclass(frozen=True, slots=True)
class HostnameAddress:
    """A host name (not yet resolved) and a port, as a client asked to connect to them."""

    hostname: bytes
    port: int
