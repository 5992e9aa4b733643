"""Starting a child process with exactly the file descriptors it was given.

``spawn`` uses ``os.posix_spawn`` (a vfork-like clone on Linux, no Python code in the child)
whenever it can; with a working directory (which ``posix_spawn`` cannot set) and the child's
descriptors exactly 0, 1 and 2, ``subprocess``'s C child (which also uses vfork, and does
``chdir``); and ``os.fork`` + ``os.execve`` when it must: a uid or gid to switch to, a pty with
a working directory, other descriptors. A fork copies the parent's page tables (about a
millisecond for a Python server, more the bigger it is); a vfork does not. Either way:

- ``fdmap`` maps each child descriptor to a parent descriptor. Every source is first
  duplicated (close-on-exec) above the highest target, so the ``dup2``s cannot clobber each
  other whatever the numbers are; the duplicates vanish at exec.
- every other descriptor is closed in the child: inheritable ones by explicit close actions
  (plait's own descriptors are all close-on-exec already), or ``closerange`` after a fork.
- ``SIGPIPE`` and ``SIGXFSZ`` go back to their default action (Python ignores SIGPIPE, and an
  ignored signal stays ignored across exec) and the signal mask is emptied.
- the executable is looked up in the parent, on the ``PATH`` of the child's environment (or
  the parent's when the child's has none): "not found" is a ``FileNotFoundError`` raised by
  ``spawn`` itself. Any other exec failure in a forked child comes back through a
  close-on-exec pipe and is raised as the same ``OSError`` (the child is reaped).
- with a ``uid`` (as root) the child takes that user's supplementary groups and, unless a
  ``gid`` is given, their primary group (never keeping root's group 0); it changes to ``cwd``
  only after dropping privileges (as OpenSSH does), so a directory only root may enter is
  refused rather than entered on the user's behalf.
- with ``ptySlave``, the child starts a new session and the pty slave becomes its controlling
  terminal and its descriptors 0, 1 and 2.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
import subprocess
import termios
import warnings
from collections.abc import Mapping, Sequence

__all__ = ["findExecutable", "spawn"]

_StrOrBytes = str | bytes

_DEFAULT_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGPIPE", None), getattr(signal, "SIGXFSZ", None)) if s
)
_HAS_POSIX_SPAWN = hasattr(os, "posix_spawn")


def findExecutable(executable: _StrOrBytes, env: Mapping[bytes, bytes]) -> str:
    """The path to run for ``executable``: itself if it has a slash, else the first
    executable regular file of that name on ``PATH`` (the child's, else ours)."""
    name = os.fsdecode(executable)
    if not name:
        raise FileNotFoundError(errno.ENOENT, "empty executable name", name)
    if "/" in name:
        return name
    search = env.get(b"PATH")
    if search is None:
        search = os.fsencode(os.environ.get("PATH", os.defpath))
    for directory in os.fsdecode(search).split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(errno.ENOENT, "No such file or directory (searched PATH)", name)


def _openFDs() -> list[int]:
    for listing in ("/proc/self/fd", "/dev/fd"):
        try:
            return [int(name) for name in os.listdir(listing)]
        except (OSError, ValueError):
            continue
    return list(range(min(os.sysconf("SC_OPEN_MAX"), 4096)))  # pragma: no cover


def spawn(
    executable: str,
    argv: Sequence[_StrOrBytes],
    env: Mapping[bytes, bytes],
    fdmap: Mapping[int, int],
    cwd: str | bytes | None = None,
    uid: int | None = None,
    gid: int | None = None,
    ptySlave: int | None = None,
) -> int:
    """Start ``executable`` (a path, see ``findExecutable``) and return its pid.

    ``fdmap``: child descriptor -> parent descriptor (ignored for a pty child, which gets
    ``ptySlave`` as 0, 1 and 2). Raises ``OSError`` if the child could not be started.
    """
    if ptySlave is not None:
        fdmap = {0: ptySlave, 1: ptySlave, 2: ptySlave}
    base = max(fdmap, default=2) + 1
    base = max(base, 3)
    # Private close-on-exec copies above every target: dup2 from them is order-free.
    sources: dict[int, int] = {}
    moved: dict[int, int] = {}
    try:
        for target, source in fdmap.items():
            if source not in sources:
                sources[source] = fcntl.fcntl(source, fcntl.F_DUPFD_CLOEXEC, base)
            moved[target] = sources[source]
        if _HAS_POSIX_SPAWN and cwd is None and uid is None and gid is None:
            return _posixSpawn(executable, argv, env, moved, ptySlave)
        if (
            cwd is not None
            and uid is None
            and gid is None
            and ptySlave is None
            and sorted(moved) == [0, 1, 2]
            and not signal.pthread_sigmask(signal.SIG_BLOCK, ())  # the child keeps our mask
        ):
            return _subprocessSpawn(executable, argv, env, moved, cwd)
        return _forkExec(executable, argv, env, moved, base, cwd, uid, gid, ptySlave)
    finally:
        for copy in sources.values():
            os.close(copy)


def _posixSpawn(
    executable: str,
    argv: Sequence[_StrOrBytes],
    env: Mapping[bytes, bytes],
    moved: Mapping[int, int],
    ptySlave: int | None,
) -> int:
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = []
    if ptySlave is not None:
        # After setsid (done before the file actions), opening the tty without O_NOCTTY
        # makes it the controlling terminal.
        actions.append((os.POSIX_SPAWN_OPEN, 0, os.ttyname(ptySlave), os.O_RDWR, 0))
        actions.append((os.POSIX_SPAWN_DUP2, 0, 1))
        actions.append((os.POSIX_SPAWN_DUP2, 0, 2))
    else:
        for target, source in moved.items():
            actions.append((os.POSIX_SPAWN_DUP2, source, target))
    keep = {0, 1, 2} if ptySlave is not None else set(moved)
    for fd in _openFDs():
        if fd in keep:
            continue
        try:
            inheritable = os.get_inheritable(fd)
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
        if inheritable or fd <= 2:
            actions.append((os.POSIX_SPAWN_CLOSE, fd))
    return os.posix_spawn(
        executable,
        list(argv),
        env,
        file_actions=actions,
        setsigdef=_DEFAULT_SIGNALS,
        setsigmask=(),
        setsid=ptySlave is not None,
    )


def _subprocessSpawn(
    executable: str,
    argv: Sequence[_StrOrBytes],
    env: Mapping[bytes, bytes],
    moved: Mapping[int, int],
    cwd: str | bytes,
) -> int:
    """``subprocess.Popen`` as a spawner: it dup2s 0-2, closes every other descriptor,
    restores SIGPIPE/SIGXFSZ, changes directory and reports a failed chdir or exec as the
    ``OSError`` (reaping that child). The child is ours to reap, not the ``Popen``'s."""
    child = subprocess.Popen(
        list(argv),
        executable=executable,
        stdin=moved[0],
        stdout=moved[1],
        stderr=moved[2],
        cwd=cwd,
        env=env,
        close_fds=True,
        restore_signals=True,
    )
    # Marked as waited for, so that the Popen never polls (and reaps) the child we watch.
    child.returncode = 0
    return child.pid


def _forkExec(
    executable: str,
    argv: Sequence[_StrOrBytes],
    env: Mapping[bytes, bytes],
    moved: Mapping[int, int],
    base: int,
    cwd: str | bytes | None,
    uid: int | None,
    gid: int | None,
    ptySlave: int | None,
) -> int:
    groups: list[int] | None = None
    if uid is not None and os.geteuid() == 0:
        import pwd  # only when switching users as root

        entry = pwd.getpwuid(uid)
        if gid is None:
            # Not root's group 0: a uid alone means that user with their own primary group.
            gid = entry.pw_gid
        groups = os.getgrouplist(entry.pw_name, gid)
    errRead, errWrite0 = os.pipe()
    errWrite = fcntl.fcntl(errWrite0, fcntl.F_DUPFD_CLOEXEC, base + len(moved) + 1)
    os.close(errWrite0)
    keep = sorted({*moved, errWrite})
    maxfd = os.sysconf("SC_OPEN_MAX")
    argv = list(argv)
    env = dict(env)
    try:
        with warnings.catch_warnings():
            # Python 3.12 warns about fork() with threads running; the child only execs.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child (measured by the tests' behaviour)
            step = "setup"
            try:
                for signum in _DEFAULT_SIGNALS:
                    signal.signal(signum, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, ())
                if ptySlave is not None:
                    os.setsid()
                for target, source in moved.items():
                    os.dup2(source, target)
                if ptySlave is not None:
                    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
                low = 0
                for fd in keep:
                    if fd > low:
                        os.closerange(low, fd)
                    low = fd + 1
                os.closerange(low, maxfd)
                if groups is not None:
                    step = "setgroups"
                    os.setgroups(groups)
                if gid is not None:
                    step = "setgid"
                    os.setgid(gid)
                if uid is not None:
                    step = "setuid"
                    os.setuid(uid)
                if cwd is not None:
                    # After dropping privileges (as OpenSSH does): a directory only root may
                    # enter is not entered on the user's behalf.
                    step = "chdir"
                    os.chdir(cwd)
                step = "exec"
                os.execve(executable, argv, env)
            except BaseException as e:
                code = getattr(e, "errno", None) or 0
                try:
                    os.write(errWrite, f"{code}:{step}".encode())
                except BaseException:
                    pass
            os._exit(127)
    finally:
        os.close(errWrite)
    try:
        report = b""
        while True:
            try:
                chunk = os.read(errRead, 256)
            except InterruptedError:
                continue
            if not chunk:
                break
            report += chunk
    finally:
        os.close(errRead)
    if report:
        _reapNow(pid)
        code, _, step = report.decode("ascii", "replace").partition(":")
        number = int(code) if code.isdigit() else 0
        where = cwd if step == "chdir" else executable
        raise OSError(number, f"{os.strerror(number)} (in the child, at {step})", where)
    return pid


def _reapNow(pid: int) -> None:
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except InterruptedError:
            continue
        except ChildProcessError:
            return
