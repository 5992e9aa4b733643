"""A pid file: written at start, removed at exit; a stale one (no such process) is replaced."""

from __future__ import annotations

import errno
import os

__all__ = ["AlreadyRunningError", "PIDFile"]


class AlreadyRunningError(RuntimeError):
    """The pid file names a process that is alive."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as e:
        # EPERM: it exists but belongs to someone else.
        return e.errno == errno.EPERM
    return True


class PIDFile:
    """The pid file at ``path``."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._written: int | None = None

    def read(self) -> int | None:
        """The pid in the file, or None if there is no file or it holds no number."""
        try:
            with open(self.path) as f:
                return int(f.read().strip() or "0") or None
        except (FileNotFoundError, ValueError):
            return None

    def check(self) -> None:
        """Raise ``AlreadyRunningError`` if the file names a live process (not this one)."""
        pid = self.read()
        if pid is not None and pid != os.getpid() and _alive(pid):
            raise AlreadyRunningError(
                f"pid file {self.path} names a running process ({pid}); is it already running?"
            )

    def write(self, pid: int | None = None) -> None:
        """Check, then write ``pid`` (default this process) atomically (replacing a stale file)."""
        self.check()
        pid = os.getpid() if pid is None else pid
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{pid}\n")
        os.replace(tmp, self.path)
        self._written = pid

    def remove(self) -> None:
        """Remove the file if it still holds the pid this object wrote."""
        if self._written is not None and self.read() == self._written:
            try:
                os.unlink(self.path)
            except OSError:
                # Gone already, or no longer ours to remove (privileges were dropped).
                pass
        self._written = None
