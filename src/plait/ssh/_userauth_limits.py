"""Limits on authentication across the connections of one SSH server."""

from __future__ import annotations

from typing import Any

__all__ = ["FailureLimiter"]


class FailureLimiter:
    """Failed authentication attempts per client address, across connections (a simple form
    of OpenSSH's PerSourcePenalties): an address with ``maxFailures`` failures within
    ``window`` seconds is refused (disconnected before any attempt is checked) until its
    window ends. Share one between all the ``SSHUserAuthServer`` services of a server (``reactor``
    gives the time); at most ``maxAddresses`` addresses are remembered (the oldest are
    forgotten first).
    """

    def __init__(
        self,
        reactor: Any,
        maxFailures: int = 30,
        window: float = 300.0,
        maxAddresses: int = 65536,
    ) -> None:
        self.reactor = reactor
        self.maxFailures = maxFailures
        self.window = window
        self.maxAddresses = maxAddresses
        self._failures: dict[str, tuple[float, int]] = {}  # address -> (window start, count)

    def _entry(self, address: str) -> tuple[float, int] | None:
        entry = self._failures.get(address)
        if entry is not None and self.reactor.seconds() - entry[0] >= self.window:
            del self._failures[address]
            return None
        return entry

    def blocked(self, address: str | None) -> bool:
        """Whether attempts from ``address`` are refused now (never for an unknown one)."""
        entry = None if address is None else self._entry(address)
        return entry is not None and entry[1] >= self.maxFailures

    def failed(self, address: str | None) -> None:
        """Count one failed attempt from ``address``."""
        if address is None:
            return
        entry = self._entry(address)
        if entry is None:
            while len(self._failures) >= self.maxAddresses:
                del self._failures[next(iter(self._failures))]
            self._failures[address] = (self.reactor.seconds(), 1)
        else:
            self._failures[address] = (entry[0], entry[1] + 1)
