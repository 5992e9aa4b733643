"""Detach from the terminal (double fork) and drop privileges."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn

__all__ = ["daemonize", "switchUser"]


def daemonize() -> Callable[[int, str], None]:
    """Become a daemon: fork, ``setsid``, fork again, umask 0o077, chdir ``/``, stdio on
    ``/dev/null``. Only the grandchild returns; it gets ``ready(status, message)`` to call once
    it has started (``0, ""``) or failed (``1, why``): the original process waits for that, prints
    the message to its stderr and exits with the status, so ``plait --daemon`` still reports
    startup errors. If the daemon dies before calling it, the original exits with status 1."""
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    if os.fork() > 0:
        os.close(w)
        _waitForDaemon(r)
    os.close(r)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.umask(0o077)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)

    def ready(status: int, message: str) -> None:
        nonlocal w
        if w < 0:
            return
        try:
            os.write(w, f"{status}\n{message}".encode()[:4000])
        except OSError:
            pass
        os.close(w)
        w = -1

    return ready


def _waitForDaemon(r: int) -> NoReturn:
    chunks = []
    while chunk := os.read(r, 4096):
        chunks.append(chunk)
    report = b"".join(chunks).decode(errors="replace")
    status, _, message = report.partition("\n")
    if not status.strip().isdigit():
        status, message = "1", "plait: error: the daemon exited during startup\n"
    if message:
        sys.stderr.write(message)
        sys.stderr.flush()
    os._exit(int(status))


def switchUser(uid: int | None, gid: int | None) -> None:
    """Set the group, then the supplementary groups, then the user (only when root)."""
    if os.getuid() != 0 and os.geteuid() != 0:
        if uid is None and gid is None:
            return
        raise PermissionError("--uid/--gid need the program to start as root")
    if gid is not None:
        os.setgid(gid)
        os.setgroups([gid])
    if uid is not None:
        if gid is None:
            import pwd

            os.setgroups([pwd.getpwuid(uid).pw_gid])
        os.setuid(uid)
