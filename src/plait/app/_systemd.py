"""systemd socket activation: the ``systemd:domain=INET:index=0`` server endpoint kind.

systemd passes listening sockets as descriptors 3, 4, ... and sets ``LISTEN_FDS`` (how many)
and ``LISTEN_PID`` (the process they are for). ``index`` picks one; ``domain`` is its address
family (``INET``, ``INET6`` or ``UNIX``). Registered through the ``plait.endpoints.server``
entry-point group, so ``serverFromString(reactor, "systemd:domain=INET:index=0")`` works.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

__all__ = ["SD_LISTEN_FDS_START", "parseSystemdServer"]

SD_LISTEN_FDS_START = 3

_DOMAINS = {"INET": socket.AF_INET, "INET6": socket.AF_INET6, "UNIX": socket.AF_UNIX}


def inheritedDescriptors(environ: Mapping[str, str] | None = None) -> list[int]:
    """The descriptors systemd passed to this process (empty if none or meant for another)."""
    env = os.environ if environ is None else environ
    try:
        pid = int(env.get("LISTEN_PID", ""))
        count = int(env.get("LISTEN_FDS", ""))
    except ValueError:
        return []
    if pid != os.getpid():
        return []
    return list(range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count))


def parseSystemdServer(reactor: Any, domain: str = "INET", index: str = "0") -> Any:
    """``systemd:domain=INET:index=0`` -> an ``AdoptedStreamServerEndpoint`` on that socket."""
    from plait.endpoints import AdoptedStreamServerEndpoint

    family = _DOMAINS.get(domain.upper())
    if family is None:
        raise ValueError(f"systemd: domain must be one of {', '.join(_DOMAINS)}, not {domain!r}")
    try:
        i = int(index)
    except ValueError:
        raise ValueError(f"systemd: index must be an integer, not {index!r}") from None
    fds = inheritedDescriptors()
    if not 0 <= i < len(fds):
        raise ValueError(
            f"systemd: no inherited socket number {i} (LISTEN_FDS gives {len(fds)} for this pid)"
        )
    return AdoptedStreamServerEndpoint(reactor, fds[i], family)
