"""Run a program and get its output or exit code as a Deferred.

Unlike Twisted's functions of the same names these take the reactor as their first argument
(plait has no global reactor). The child's standard input is closed at once.

- ``getProcessOutput``: its standard output (bytes). Anything on standard error fails the
  Deferred with ``UnexpectedErrorOutput`` (an ``IOError``, whose ``processEnded`` Deferred
  fires when the child is done) unless ``errortoo``, which mixes it into the output.
  The exit code is not checked.
- ``getProcessValue``: its exit code (None if a signal killed it).
- ``getProcessOutputAndValue``: ``(out, err, exitCode)``; a child killed by a signal fails
  the Deferred with the ``ProcessTerminated`` (``.signal``) instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plait.defer import Deferred, Failure
from plait.protocol import ProcessProtocol, ProcessTerminated

__all__ = [
    "UnexpectedErrorOutput",
    "getProcessOutput",
    "getProcessOutputAndValue",
    "getProcessValue",
]


class UnexpectedErrorOutput(IOError):
    """The program wrote to standard error (``getProcessOutput`` without ``errortoo``).

    ``processEnded`` is a Deferred that fires (with None) once the program has ended.
    """

    def __init__(self, text: bytes, processEnded: Deferred[None]) -> None:
        super().__init__(f"got stderr: {text!r}")
        self.processEnded = processEnded


class _OutputCollector(ProcessProtocol):
    def __init__(self, deferred: Deferred[bytes], errortoo: bool) -> None:
        self.deferred: Deferred[bytes] | None = deferred
        self.errortoo = errortoo
        self.output: list[bytes] = []
        self.ended: Deferred[None] | None = None

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.closeStdin()

    def outReceived(self, data: bytes) -> None:
        self.output.append(data)

    def errReceived(self, data: bytes) -> None:
        if self.errortoo:
            self.output.append(data)
        elif self.deferred is not None:
            d, self.deferred = self.deferred, None
            self.ended = Deferred()
            d.errback(Failure(UnexpectedErrorOutput(data, self.ended)))

    def processEnded(self, reason: Failure) -> None:
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.callback(b"".join(self.output))
        elif self.ended is not None:
            self.ended.callback(None)


class _ValueCollector(ProcessProtocol):
    def __init__(self, deferred: Deferred[int | None]) -> None:
        self.deferred = deferred

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.closeStdin()

    def processEnded(self, reason: Failure) -> None:
        self.deferred.callback(getattr(reason.value, "exitCode", None))


class _EverythingCollector(ProcessProtocol):
    def __init__(self, deferred: Deferred[tuple[bytes, bytes, int | None]]) -> None:
        self.deferred = deferred
        self.out: list[bytes] = []
        self.err: list[bytes] = []

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.closeStdin()

    def outReceived(self, data: bytes) -> None:
        self.out.append(data)

    def errReceived(self, data: bytes) -> None:
        self.err.append(data)

    def processEnded(self, reason: Failure) -> None:
        value = reason.value
        if isinstance(value, ProcessTerminated) and value.signal is not None:
            self.deferred.errback(reason)
            return
        code = getattr(value, "exitCode", None)
        self.deferred.callback((b"".join(self.out), b"".join(self.err), code))


def _spawn(
    reactor: Any,
    protocol: ProcessProtocol,
    d: Deferred[Any],
    executable: str | bytes,
    args: Sequence[str | bytes],
    env: Mapping[str, str] | None,
    path: str | None,
) -> None:
    try:
        reactor.spawnProcess(protocol, executable, [executable, *args], env, path)
    except Exception:
        d.errback(Failure())


def getProcessOutput(
    reactor: Any,
    executable: str | bytes,
    args: Sequence[str | bytes] = (),
    env: Mapping[str, str] | None = {},
    path: str | None = None,
    errortoo: bool = False,
) -> Deferred[bytes]:
    """The standard output of ``executable`` run with ``args`` (see the module docstring)."""
    d: Deferred[bytes] = Deferred()
    _spawn(reactor, _OutputCollector(d, errortoo), d, executable, args, env, path)
    return d


def getProcessValue(
    reactor: Any,
    executable: str | bytes,
    args: Sequence[str | bytes] = (),
    env: Mapping[str, str] | None = {},
    path: str | None = None,
) -> Deferred[int | None]:
    """The exit code of ``executable`` run with ``args`` (None if killed by a signal)."""
    d: Deferred[int | None] = Deferred()
    _spawn(reactor, _ValueCollector(d), d, executable, args, env, path)
    return d


def getProcessOutputAndValue(
    reactor: Any,
    executable: str | bytes,
    args: Sequence[str | bytes] = (),
    env: Mapping[str, str] | None = {},
    path: str | None = None,
) -> Deferred[tuple[bytes, bytes, int | None]]:
    """``(stdout, stderr, exitCode)`` of ``executable`` run with ``args``."""
    d: Deferred[tuple[bytes, bytes, int | None]] = Deferred()
    _spawn(reactor, _EverythingCollector(d), d, executable, args, env, path)
    return d
