"""``UnixSFTPFileSystem``: an SFTP file system on the local disk, with an optional root.

File I/O is plain blocking ``os.pread``/``os.pwrite`` on a descriptor: each call moves at most
one request's worth (256 KiB), which on a local disk takes microseconds, so the reactor is not
held up noticeably; a network file system that can stall should be served by a file system
that defers to threads instead.

Permissions are the process's: run the server under the user's uid (``plait sshd`` runs the
subsystem as a child process of that user, ``python -m plait.ssh.sftp``), never as root for
someone else.

With ``root`` set, paths are virtual: ``/`` is ``root``, ``..`` stops there, and every symlink
is followed by this class itself, inside the root (an absolute target means root-relative), as
``chroot`` would. A component swapped for a symlink between that walk and the system call is
the one race left; the final component is opened with ``O_NOFOLLOW`` to close it for opens.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import stat
import time
from collections.abc import Callable, Iterator

from plait.wire.ssh.sftp import FX, FXF, FileAttributes, NameEntry, StatVFSReply, formatLongname

from ._sftp_interfaces import SFTPError

_MAX_SYMLINKS = 40
_COPY_CHUNK = 8 * 1024 * 1024
_U32_MAX = 0xFFFFFFFF


def attrsFromStat(st: os.stat_result) -> FileAttributes:
    """The SFTP attributes of a ``stat`` result."""
    return FileAttributes(
        size=st.st_size,
        uid=st.st_uid,
        gid=st.st_gid,
        permissions=st.st_mode,
        atime=min(max(int(st.st_atime), 0), _U32_MAX),
        mtime=min(max(int(st.st_mtime), 0), _U32_MAX),
    )


def _statVFS(result: os.statvfs_result) -> StatVFSReply:
    flag = (1 if result.f_flag & os.ST_RDONLY else 0) | (2 if result.f_flag & os.ST_NOSUID else 0)
    return StatVFSReply(
        result.f_bsize,
        result.f_frsize,
        result.f_blocks,
        result.f_bfree,
        result.f_bavail,
        result.f_files,
        result.f_ffree,
        result.f_favail,
        result.f_fsid,
        flag,
        result.f_namemax,
    )


def _applyAttrs(
    attrs: FileAttributes,
    truncate: Callable[[int], None],
    chmod: Callable[[int], None],
    utime: Callable[[tuple[int, int]], None],
    chown: Callable[[int, int], None],
) -> None:
    # OpenSSH's order: size, permissions, times, owner.
    if attrs.size is not None:
        truncate(attrs.size)
    if attrs.permissions is not None:
        chmod(attrs.permissions & 0o7777)
    if attrs.atime is not None or attrs.mtime is not None:
        utime((attrs.atime or 0, attrs.mtime or 0))
    if attrs.uid is not None or attrs.gid is not None:
        chown(-1 if attrs.uid is None else attrs.uid, -1 if attrs.gid is None else attrs.gid)


def _checkPath(path: bytes) -> None:
    # A NUL cannot be in a Unix path (C strings end there): the client's error, not ours.
    if b"\0" in path:
        raise SFTPError(FX.NO_SUCH_FILE, "No such file (NUL in path)")


def _readOnlyError() -> PermissionError:
    return PermissionError(errno.EACCES, "read-only file system")


class UnixSFTPFile:
    """An open file of ``UnixSFTPFileSystem`` (a descriptor)."""

    def __init__(self, fd: int, readOnly: bool = False) -> None:
        self.fd = fd
        self.readOnly = readOnly

    def readChunk(self, offset: int, length: int) -> bytes:
        """``os.pread``: up to ``length`` bytes at ``offset`` (``b""`` at the end)."""
        return os.pread(self.fd, length, offset)

    def writeChunk(self, offset: int, data: bytes) -> None:
        """``os.pwrite`` all of ``data`` at ``offset``."""
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, offset)
            view = view[written:]
            offset += written

    def getAttrs(self) -> FileAttributes:
        """``fstat``."""
        return attrsFromStat(os.fstat(self.fd))

    def setAttrs(self, attrs: FileAttributes) -> None:
        """ftruncate, fchmod, futimes, fchown as the attributes ask."""
        if self.readOnly:
            raise _readOnlyError()
        fd = self.fd
        _applyAttrs(
            attrs,
            lambda size: os.ftruncate(fd, size),
            lambda mode: os.fchmod(fd, mode),
            lambda times: os.utime(fd, times),
            lambda uid, gid: os.fchown(fd, uid, gid),
        )

    def copyData(
        self, offset: int, length: int, destination: object, destinationOffset: int
    ) -> None:
        """copy-data: ``length`` bytes (0: to the end) at ``offset`` into ``destination``
        (another ``UnixSFTPFile``) at ``destinationOffset``, in the kernel where it can."""
        if not isinstance(destination, UnixSFTPFile):
            raise NotImplementedError("copy-data between different file systems")
        # Only from a regular file, and no further than its end as it is now: "to the end" of
        # /dev/zero, or of a file copied into itself past its end, would never come, and this
        # runs on the reactor's thread.
        st = os.fstat(self.fd)
        if not stat.S_ISREG(st.st_mode):
            raise SFTPError(FX.OP_UNSUPPORTED, "copy-data reads only regular files")
        available = max(0, st.st_size - offset)
        remaining = min(length, available) if length else available
        rangeCopy = True
        while remaining > 0:
            n = min(remaining, _COPY_CHUNK)
            copied = 0
            if rangeCopy:
                try:
                    copied = os.copy_file_range(
                        self.fd, destination.fd, n, offset, destinationOffset
                    )
                except OSError as e:
                    if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                        raise
                    rangeCopy = False
            if not rangeCopy:
                data = os.pread(self.fd, n, offset)
                destination.writeChunk(destinationOffset, data)
                copied = len(data)
            if copied == 0:
                break
            offset += copied
            destinationOffset += copied
            remaining -= copied

    def fsync(self) -> None:
        """``fsync`` (fsync@openssh.com)."""
        os.fsync(self.fd)

    def statVFS(self) -> StatVFSReply:
        """``fstatvfs`` (fstatvfs@openssh.com)."""
        return _statVFS(os.fstatvfs(self.fd))

    def close(self) -> None:
        """Close the descriptor."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


class UnixSFTPDirectory:
    """An open directory: yields ``.``, ``..`` and each entry with its lstat attributes."""

    def __init__(self, fs: UnixSFTPFileSystem, real: bytes) -> None:
        self._fs = fs
        self._real = real
        self._scan = os.scandir(real)
        self._iter = self._entries()

    def _entries(self) -> Iterator[NameEntry]:
        for name in (b".", b".."):
            try:
                st = os.lstat(os.path.join(self._real, name))
            except OSError:
                continue
            yield self._fs._nameEntry(name, st)
        for entry in self._scan:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished while listing
            yield self._fs._nameEntry(os.fsencode(entry.name), st)

    def __iter__(self) -> Iterator[NameEntry]:
        return self

    def __next__(self) -> NameEntry:
        return next(self._iter)

    def close(self) -> None:
        """Stop listing."""
        self._scan.close()


class UnixSFTPFileSystem:
    """The local file system as an ``ISFTPServer``.

    ``home`` is where relative paths start (the user's home). With ``root`` the client is
    confined to ``root`` (see the module docstring) and ``home`` is a path inside it
    (default ``/``). ``readOnly`` refuses every change with PERMISSION_DENIED (as
    ``sftp-server -R``). ``now`` supplies the clock for ``ls -l`` dates.
    """

    def __init__(
        self,
        home: str | bytes | None = None,
        root: str | bytes | None = None,
        *,
        readOnly: bool = False,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.root = None if root is None else os.path.abspath(os.fsencode(root))
        if home is None:
            home = b"/" if root is not None else os.path.expanduser("~")
        self.home = os.fsencode(home)
        if self.root is None:
            self.home = os.path.abspath(self.home)
        elif not self.home.startswith(b"/"):
            self.home = b"/" + self.home
        self.readOnly = readOnly
        self._now = now
        self._users: dict[int, str] = {}
        self._groups: dict[int, str] = {}

    # -- paths ----------------------------------------------------------------------------------

    def _virtualParts(self, path: bytes) -> list[bytes]:
        """The canonical virtual components of ``path`` (no symlinks followed)."""
        full = path if path.startswith(b"/") else self.home + b"/" + path
        parts: list[bytes] = []
        for part in full.split(b"/"):
            if part in (b"", b"."):
                continue
            if part == b"..":
                if parts:
                    parts.pop()
            else:
                parts.append(part)
        return parts

    def _resolveParts(self, path: bytes, followFinal: bool) -> list[bytes]:
        """Virtual components of ``path`` with symlinks resolved inside the root."""
        assert self.root is not None
        pending = list(reversed(self._virtualParts(path)))
        done: list[bytes] = []
        hops = 0
        while pending:
            part = pending.pop()
            if part in (b"", b"."):
                continue
            if part == b"..":
                if done:
                    done.pop()
                continue
            candidate = self.root + b"/" + b"/".join([*done, part])
            if (pending or followFinal) and os.path.islink(candidate):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
                target = os.readlink(candidate)
                if target.startswith(b"/"):
                    done = []
                pending.extend(reversed(target.split(b"/")))
                continue
            done.append(part)
        return done

    def _real(self, path: bytes, followFinal: bool = True) -> bytes:
        """The real path for a client's ``path``."""
        _checkPath(path)
        if self.root is None:
            return path if path.startswith(b"/") else os.path.join(self.home, path)
        parts = self._resolveParts(path, followFinal)
        return self.root + b"/" + b"/".join(parts) if parts else self.root

    def _refuseIfReadOnly(self) -> None:
        if self.readOnly:
            raise _readOnlyError()

    def _nameEntry(self, name: bytes, st: os.stat_result) -> NameEntry:
        attrs = attrsFromStat(st)
        longname = formatLongname(
            name,
            attrs,
            owner=self._userName(st.st_uid),
            group=self._groupName(st.st_gid),
            links=st.st_nlink,
            now=self._now(),
        )
        return NameEntry(name, longname, attrs)

    def _userName(self, uid: int) -> str:
        name = self._users.get(uid)
        if name is None:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = str(uid)
            self._users[uid] = name
        return name

    def _groupName(self, gid: int) -> str:
        name = self._groups.get(gid)
        if name is None:
            try:
                name = grp.getgrgid(gid).gr_name
            except KeyError:
                name = str(gid)
            self._groups[gid] = name
        return name

    # -- ISFTPServer ----------------------------------------------------------------------------

    def gotVersion(self, otherVersion: int, extData: dict[bytes, bytes]) -> dict[bytes, bytes]:
        """Its files can copy-data (server-side copies, OpenSSH's ``cp``)."""
        return {b"copy-data": b"1"}

    def openFile(self, filename: bytes, flags: int, attrs: FileAttributes) -> UnixSFTPFile:
        """``open(2)`` with the pflags mapped to O_ flags; new files get ``attrs.permissions``."""
        if flags & (FXF.WRITE | FXF.APPEND | FXF.CREAT | FXF.TRUNC):
            self._refuseIfReadOnly()
        if flags & FXF.READ and flags & FXF.WRITE:
            osFlags = os.O_RDWR
        elif flags & FXF.WRITE:
            osFlags = os.O_WRONLY
        else:
            osFlags = os.O_RDONLY
        if flags & FXF.APPEND:
            osFlags |= os.O_APPEND
        if flags & FXF.CREAT:
            osFlags |= os.O_CREAT
        if flags & FXF.TRUNC:
            osFlags |= os.O_TRUNC
        if flags & FXF.EXCL:
            osFlags |= os.O_EXCL
        if self.root is not None:
            osFlags |= os.O_NOFOLLOW
        mode = 0o666 if attrs.permissions is None else attrs.permissions & 0o7777
        # O_NONBLOCK: regular files ignore it, and a FIFO or device cannot hang the reactor.
        fd = os.open(self._real(filename), osFlags | os.O_CLOEXEC | os.O_NONBLOCK, mode)
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            raise SFTPError(FX.FAILURE, "Is a directory")
        return UnixSFTPFile(fd, self.readOnly)

    def removeFile(self, filename: bytes) -> None:
        """``unlink``."""
        self._refuseIfReadOnly()
        os.unlink(self._real(filename, followFinal=False))

    def renameFile(self, oldPath: bytes, newPath: bytes) -> None:
        """Rename, refusing to replace an existing ``newPath`` (SSH_FXP_RENAME)."""
        self._refuseIfReadOnly()
        old, new = self._real(oldPath, False), self._real(newPath, False)
        if os.path.lexists(new):
            raise SFTPError(FX.FAILURE, "File exists")
        os.rename(old, new)

    def posixRename(self, oldPath: bytes, newPath: bytes) -> None:
        """``rename(2)``, replacing ``newPath`` (posix-rename@openssh.com)."""
        self._refuseIfReadOnly()
        os.rename(self._real(oldPath, False), self._real(newPath, False))

    def makeHardLink(self, oldPath: bytes, newPath: bytes) -> None:
        """``link(2)`` (hardlink@openssh.com)."""
        self._refuseIfReadOnly()
        os.link(self._real(oldPath), self._real(newPath, False), follow_symlinks=False)

    def makeDirectory(self, path: bytes, attrs: FileAttributes) -> None:
        """``mkdir`` with ``attrs.permissions`` (default 0777 before the umask)."""
        self._refuseIfReadOnly()
        mode = 0o777 if attrs.permissions is None else attrs.permissions & 0o7777
        os.mkdir(self._real(path, False), mode)

    def removeDirectory(self, path: bytes) -> None:
        """``rmdir``."""
        self._refuseIfReadOnly()
        os.rmdir(self._real(path, False))

    def openDirectory(self, path: bytes) -> UnixSFTPDirectory:
        """A listing of ``path``."""
        return UnixSFTPDirectory(self, self._real(path))

    def getAttrs(self, path: bytes, followLinks: bool) -> FileAttributes:
        """``stat`` or ``lstat``."""
        real = self._real(path, followLinks)
        return attrsFromStat(os.stat(real) if followLinks else os.lstat(real))

    def setAttrs(self, path: bytes, attrs: FileAttributes) -> None:
        """truncate, chmod, utime, chown as the attributes ask (following symlinks)."""
        self._refuseIfReadOnly()
        real = self._real(path)
        _applyAttrs(
            attrs,
            lambda size: os.truncate(real, size),
            lambda mode: os.chmod(real, mode),
            lambda times: os.utime(real, times),
            lambda uid, gid: os.chown(real, uid, gid),
        )

    def readLink(self, path: bytes) -> bytes:
        """``readlink``."""
        return os.readlink(self._real(path, False))

    def makeLink(self, linkPath: bytes, targetPath: bytes) -> None:
        """``symlink``: ``targetPath`` is stored as given."""
        self._refuseIfReadOnly()
        _checkPath(targetPath)
        os.symlink(targetPath, self._real(linkPath, False))

    def realPath(self, path: bytes) -> bytes:
        """The canonical absolute (virtual, with a root) path; missing components are kept."""
        if self.root is None:
            return os.path.realpath(self._real(path or b"."))
        return b"/" + b"/".join(self._resolveParts(path or b".", True))

    def statVFS(self, path: bytes) -> StatVFSReply:
        """``statvfs`` (statvfs@openssh.com)."""
        return _statVFS(os.statvfs(self._real(path)))

    def extendedRequest(self, extendedName: bytes, extendedData: bytes) -> bytes:
        """No other extensions."""
        raise NotImplementedError(extendedName)
