"""Detach from the terminal (double fork) and drop privileges."""

from __future__ import annotations

import os
import sys

__all__ = ["daemonize", "switchUser"]


def daemonize(readyFD: int | None = None) -> None:
    """Become a daemon: fork, ``setsid``, fork again, umask 0o077, chdir ``/``, stdio on
    ``/dev/null``. The original process exits with status 0 once the grandchild exists; only the
    grandchild returns from this function."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() > 0:
        os._exit(0)
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
