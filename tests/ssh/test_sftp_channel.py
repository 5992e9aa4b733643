"""SFTP as the ``sftp`` subsystem of an SSH session channel, in memory (windows and all)."""

from __future__ import annotations

import hashlib
import io
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from plait.ssh._channel import connectProtocolToChannel
from plait.ssh.connection import SSHConnection
from plait.ssh.session import ConchUser, SSHClientSession, openSession
from plait.ssh.sftp import (
    FileTransferClient,
    FileTransferServer,
    inProcessSubsystem,
    stdioServerCommand,
)
from plait.testing import successResultOf

from .connfakes import ServicePair


def _sftpOverSession(avatar: ConchUser) -> tuple[ServicePair, FileTransferClient]:
    avatar.subsystemLookup[b"sftp"] = inProcessSubsystem
    conn = SSHConnection()
    pair = ServicePair(conn, SSHConnection(avatar))
    session = SSHClientSession()
    opened = openSession(conn, session)
    pair.pump()
    successResultOf(opened)
    started = session.subsystem(b"sftp")
    pair.pump()
    successResultOf(started)
    # Connected after the subsystem's success (the server would also hold an earlier INIT
    # until the subsystem runs: tests/ssh/test_session.py, test_connection_live.py).
    client = FileTransferClient()
    connectProtocolToChannel(client, session)
    return pair, client


def _run(pair: ServicePair, d: Any) -> Any:
    pair.pump(limit=1_000_000)
    return successResultOf(d)


def test_sftp_subsystem_streams_through_channel_windows(tmp_path: Path) -> None:
    """put/get of 5 MB through a session channel (many window adjusts), checksums equal."""
    avatar = ConchUser("sam")
    avatar.home = str(tmp_path)  # type: ignore[attr-defined]
    pair, client = _sftpOverSession(avatar)
    assert _run(pair, client.whenReady())
    assert _run(pair, client.realPath(b".")) == os.fsencode(os.path.realpath(tmp_path))
    payload = os.urandom(5 * 1024 * 1024 + 1)
    assert _run(pair, client.put(io.BytesIO(payload), b"f.bin")) == len(payload)
    out = io.BytesIO()
    assert _run(pair, client.get(b"f.bin", out)) == len(payload)
    assert hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(payload).digest()
    client.transport.loseConnection()  # type: ignore[union-attr]
    pair.pump()
    assert client._lostReason is not None


def test_in_process_subsystem_honours_root(tmp_path: Path) -> None:
    """An avatar's ``sftpRoot`` confines the in-process server."""
    avatar = ConchUser("vic")
    avatar.sftpRoot = str(tmp_path)  # type: ignore[attr-defined]
    server = inProcessSubsystem(avatar)
    assert isinstance(server, FileTransferServer)
    assert server.fileSystem.realPath(b"..") == b"/"  # type: ignore[attr-defined]


def test_stdio_server_command() -> None:
    """The exec command runs this interpreter's ``-m plait.ssh.sftp`` with -d and -r."""
    argv = shlex.split(stdioServerCommand("/home/a b", root="/srv").decode())
    assert argv == [sys.executable, "-m", "plait.ssh.sftp", "-d", "/home/a b", "-r", "/srv"]
    assert shlex.split(stdioServerCommand().decode())[1:] == ["-m", "plait.ssh.sftp"]
