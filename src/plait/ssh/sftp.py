"""SFTP version 3 on the reactor: a server over a pluggable file system, and a client.

- ``FileTransferServer(fileSystem)``: the server ``Protocol``; run it over an SSH channel (the
  ``sftp`` subsystem), a pipe, or standard input/output (``runStdioServer(reactor)``, or
  ``python -m plait.ssh.sftp [-d HOME] [-r ROOT] [-R] [-u UMASK] [-T]``, usable as an sshd
  ``Subsystem`` command and with OpenSSH's ``sftp -D``).
- ``ISFTPServer``/``ISFTPFile``/``ISFTPDirectory``: the file system it serves;
  ``UnixSFTPFileSystem(home, root=None, readOnly=False)`` is the local disk, optionally
  confined to ``root``; ``ThreadedSFTPFileSystem(fileSystem, reactor)`` runs any file
  system's calls in the reactor's threads (for disks that can stall).
- For an SSH server's ``subsystemLookup[b"sftp"]``: ``inProcessSubsystem(avatar)`` (this
  process's permissions), or exec ``stdioServerCommand(home)`` as the user.
- ``FileTransferClient()``: the client ``Protocol``; Deferred-returning operations, plus
  ``get``/``put`` that stream a whole file with many requests in flight.

Errors: a refused request is ``SFTPError`` (``.code`` an ``FX`` status, ``.message``); a peer
that breaks the protocol is ``plait.wire.ssh.sftp.SFTPProtocolError``/``SFTPBadMessage``
(logged; the connection is lost).
"""

from plait.ssh._sftp_client import ClientDirectory, ClientFile, FileTransferClient
from plait.ssh._sftp_interfaces import (
    ISFTPDirectory,
    ISFTPFile,
    ISFTPServer,
    SFTPError,
    statusForException,
)
from plait.ssh._sftp_server import (
    FileTransferServer,
    inProcessSubsystem,
    main,
    runStdioServer,
    stdioServerCommand,
)
from plait.ssh._sftp_threaded import ThreadedSFTPFile, ThreadedSFTPFileSystem
from plait.ssh._sftp_unix import UnixSFTPDirectory, UnixSFTPFile, UnixSFTPFileSystem
from plait.wire.ssh.sftp import FX, FXF, FileAttributes, NameEntry

__all__ = [
    "FX",
    "FXF",
    "ClientDirectory",
    "ClientFile",
    "FileAttributes",
    "FileTransferClient",
    "FileTransferServer",
    "ISFTPDirectory",
    "ISFTPFile",
    "ISFTPServer",
    "NameEntry",
    "SFTPError",
    "ThreadedSFTPFile",
    "ThreadedSFTPFileSystem",
    "UnixSFTPDirectory",
    "UnixSFTPFile",
    "UnixSFTPFileSystem",
    "inProcessSubsystem",
    "main",
    "runStdioServer",
    "statusForException",
    "stdioServerCommand",
]

if __name__ == "__main__":
    raise SystemExit(main())
