"""SFTP against OpenSSH without the SSH transport, over a child's stdin/stdout, both ways.

- OpenSSH's ``sftp -D "python -m plait.ssh.sftp ..."`` (batch mode) drives plait's server;
- plait's ``FileTransferClient`` drives OpenSSH's ``/usr/lib/openssh/sftp-server``.

``python3 tests/interop/test_sftp_stdio.py --bench MB`` measures get/put MB/s of an MB-sized
file over the pipe: plait's client against both servers, and OpenSSH's client against both.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from plait.defer import Deferred, Failure, ensureDeferred
from plait.protocol import ProcessProtocol
from plait.reactor import defaultReactorClass
from plait.ssh.sftp import FX, FXF, FileAttributes, FileTransferClient, SFTPError

SFTP = shutil.which("sftp")
SFTP_SERVER = next(
    (
        p
        for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")
        if os.path.exists(p)
    ),
    None,
)
TIMEOUT = 30.0
PLAIT_SERVER = [sys.executable, "-m", "plait.ssh.sftp"]


def _env() -> dict[str, str]:
    """The child's environment, with this checkout's ``src`` first on the path."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


# -- OpenSSH's sftp client against plait's server --------------------------------------------


@pytest.mark.skipif(SFTP is None, reason="OpenSSH's sftp client is not installed")
@pytest.mark.parametrize("options", [[], ["-T"]], ids=["direct", "threads"])
def test_openssh_client_against_plait_server(tmp_path: Path, options: list[str]) -> None:
    """put, get, ls -l, rename, mkdir, symlink, chmod, cp, rm, rmdir, df from OpenSSH's sftp
    (file I/O done directly, and in threads)."""
    served = tmp_path / "served"
    local = tmp_path / "local"
    served.mkdir()
    local.mkdir()
    payload = os.urandom(3 * 1024 * 1024 + 17)
    (local / "up.bin").write_bytes(payload)
    (local / "empty").write_bytes(b"")
    batch = tmp_path / "batch"
    batch.write_text(
        "\n".join(
            [
                "pwd",
                f"put {local}/up.bin up.bin",
                f"get up.bin {local}/down.bin",
                "rename up.bin moved.bin",
                "mkdir sub",
                "symlink moved.bin link.bin",
                "chmod 640 moved.bin",
                "-cp moved.bin copied.bin",  # copy-data (not offered with threads)
                "-rm copied.bin",
                f"put {local}/empty sub/empty",
                "ls -l",
                "rm sub/empty",
                "rmdir sub",
                "rm link.bin",
                "df",
                "",
            ]
        )
    )
    command = " ".join([*PLAIT_SERVER, *options, "-d", str(served)])
    result = subprocess.run(
        [SFTP or "sftp", "-b", str(batch), "-D", command],
        capture_output=True,
        env=_env(),
        timeout=TIMEOUT,
        check=False,
    )
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode() + out
    assert f"Remote working directory: {served}" in out
    assert (b"copy-data" in result.stderr) == bool(options)  # cp works without threads
    assert (local / "down.bin").read_bytes() == payload
    assert (served / "moved.bin").read_bytes() == payload
    assert (served / "moved.bin").stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(served)) == ["moved.bin"]
    lines = [line for line in out.splitlines() if line.endswith(("link.bin", "moved.bin", "sub"))]
    assert any(line.startswith("lrwxrwxrwx") and "link.bin" in line for line in lines)
    assert any(line.startswith("-rw-r-----") and str(len(payload)) in line for line in lines)
    assert any(line.startswith("drwx") and line.endswith("sub") for line in lines)


@pytest.mark.skipif(SFTP is None, reason="OpenSSH's sftp client is not installed")
def test_openssh_client_errors_and_root(tmp_path: Path) -> None:
    """Missing files are reported as such, and a root confines OpenSSH's client."""
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").write_bytes(b"secret")
    os.symlink("../secret", root / "escape")
    batch = tmp_path / "batch"
    batch.write_text("pwd\n-get nosuchfile\n-get escape\ncd ..\npwd\n")
    command = " ".join([*PLAIT_SERVER, "-r", str(root)])
    result = subprocess.run(
        [SFTP or "sftp", "-b", str(batch), "-D", command],
        capture_output=True,
        env=_env(),
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err + out
    assert "Remote working directory: /\n" in out
    assert "No such file" in err or "not found" in err
    assert not (tmp_path / "escape").exists()


@pytest.mark.skipif(SFTP is None, reason="OpenSSH's sftp client is not installed")
def test_openssh_client_read_only_and_umask(tmp_path: Path) -> None:
    """-R refuses uploads with "Permission denied"; -u sets the umask of new directories."""
    (tmp_path / "local").write_bytes(b"x")
    batch = tmp_path / "batch"
    batch.write_text(f"-put {tmp_path}/local up\nget local back\n")
    readOnly = " ".join([*PLAIT_SERVER, "-R", "-d", str(tmp_path)])
    result = subprocess.run(
        [SFTP or "sftp", "-b", str(batch), "-D", readOnly],
        capture_output=True,
        env=_env(),
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"Permission denied" in result.stderr
    assert not (tmp_path / "up").exists() and (tmp_path / "back").read_bytes() == b"x"
    batch.write_text("mkdir d\n")
    masked = " ".join([*PLAIT_SERVER, "-u", "077", "-d", str(tmp_path)])
    subprocess.run(
        [SFTP or "sftp", "-b", str(batch), "-D", masked],
        env=_env(),
        timeout=TIMEOUT,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o700


# -- paramiko's SFTPClient against plait's server ----------------------------------------------


class _SocketChannel:
    """The slice of a paramiko Channel that SFTPClient uses, over a plain socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, data: bytes) -> int:
        return self.sock.send(data)

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def get_name(self) -> str:
        return "socketpair"

    def close(self) -> None:
        self.sock.close()


def test_paramiko_client_against_plait_server(tmp_path: Path) -> None:
    """paramiko's SFTPClient: normalize, putfo/getfo, stat, listdir, symlink, posix_rename."""
    paramiko = pytest.importorskip("paramiko")
    ours, theirs = socket.socketpair()
    ours.settimeout(TIMEOUT)
    child = subprocess.Popen(
        [*PLAIT_SERVER, "-d", str(tmp_path)], stdin=theirs, stdout=theirs, env=_env()
    )
    theirs.close()
    try:
        client = paramiko.SFTPClient(_SocketChannel(ours))
        payload = os.urandom(1_000_003)
        assert client.normalize(".") == str(tmp_path)
        client.putfo(io.BytesIO(payload), "p.bin")
        assert client.stat("p.bin").st_size == len(payload)
        client.symlink("p.bin", "link")
        assert client.readlink("link") == "p.bin"
        client.posix_rename("p.bin", "q.bin")
        assert sorted(client.listdir(".")) == ["link", "q.bin"]
        back = io.BytesIO()
        client.getfo("q.bin", back)
        assert back.getvalue() == payload
        with pytest.raises(FileNotFoundError):
            client.stat("missing")
        client.remove("link")
        client.close()
    finally:
        ours.close()
        assert child.wait(TIMEOUT) == 0


# -- plait's client against OpenSSH's sftp-server ----------------------------------------------


class ChildStdio(ProcessProtocol):
    """Runs a stream ``Protocol`` over a child process's stdin/stdout."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.stderr = b""
        self.ended: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.protocol.makeConnection(self)

    # the transport the protocol sees
    def write(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]

    def writeSequence(self, data: list[bytes]) -> None:
        self.transport.write(b"".join(data))  # type: ignore[union-attr]

    def loseConnection(self) -> None:
        self.transport.closeStdin()  # type: ignore[union-attr]

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == 1:
            self.protocol.dataReceived(data)
        else:
            self.stderr += data

    def processEnded(self, reason: Failure) -> None:
        self.protocol.connectionLost(reason)
        self.ended.callback(None)


def _runUntil(reactor: Any, d: Deferred[Any]) -> Any:
    box: list[Any] = []

    def done(result: object) -> None:
        box.append(result)
        if reactor.running:
            reactor.stop()

    def guard() -> None:
        if reactor.running:
            reactor.stop()

    reactor.callWhenRunning(d.addBoth, done)
    reactor.callLater(TIMEOUT, guard)
    reactor.run(installSignalHandlers=False)
    assert box, f"timed out after {TIMEOUT}s"
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


def _spawn(reactor: Any, argv: list[str], client: FileTransferClient) -> ChildStdio:
    child = ChildStdio(client)
    reactor.spawnProcess(child, argv[0], argv, env=_env())
    return child


@pytest.fixture
def reactor() -> Any:
    r = defaultReactorClass()()
    yield r
    r.close()


@pytest.mark.skipif(SFTP_SERVER is None, reason="OpenSSH's sftp-server is not installed")
def test_plait_client_against_openssh_server(reactor: Any, tmp_path: Path) -> None:
    """Every client operation works against OpenSSH's sftp-server; 20 MB both ways."""
    client = FileTransferClient()
    child = _spawn(reactor, [SFTP_SERVER or "", "-d", str(tmp_path)], client)
    payload = os.urandom(20 * 1024 * 1024 + 3)

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        extensions = await client.whenReady()
        seen["extensions"] = extensions
        seen["pwd"] = await client.realPath(b".")
        seen["put"] = await client.put(io.BytesIO(payload), b"big.bin")
        out = io.BytesIO()
        seen["get"] = await client.get(b"big.bin", out)
        seen["same"] = out.getvalue() == payload
        f = await client.openFile(b"small", FXF.WRITE | FXF.CREAT | FXF.TRUNC)
        await f.writeChunk(0, b"hello")
        await f.close()
        f = await client.openFile(b"small", FXF.READ)
        seen["read"] = await f.readChunk(0, 100)
        try:
            await f.readChunk(5, 100)
        except EOFError:
            seen["eof"] = True
        seen["fstat"] = (await f.getAttrs()).size
        await f.close()
        await client.makeDirectory(b"d", FileAttributes(permissions=0o755))
        await client.makeLink(b"d/link", b"../small")
        seen["readlink"] = await client.readLink(b"d/link")
        seen["lstat"] = (await client.getAttrs(b"d/link", followLinks=False)).permissions
        seen["stat"] = (await client.getAttrs(b"d/link")).size
        seen["ls"] = sorted(e.filename for e in await client.listDirectory(b"d"))
        await client.setAttrs(b"small", FileAttributes(permissions=0o600))
        await client.renameFile(b"small", b"renamed")
        await client.posixRename(b"renamed", b"big.bin")
        await client.makeHardLink(b"big.bin", b"hard")
        seen["statvfs"] = (await client.statVFS(b".")).bsize
        seen["limits"] = (await client.limits()).maxReadLength
        try:
            await client.removeFile(b"nonexistent")
        except SFTPError as e:
            seen["missing"] = e.code
        await client.removeFile(b"d/link")
        await client.removeDirectory(b"d")
        await client.removeFile(b"hard")
        client.transport.loseConnection()  # type: ignore[union-attr]
        await child.ended
        return seen

    seen = _runUntil(reactor, ensureDeferred(scenario()))
    assert b"posix-rename@openssh.com" in seen["extensions"]
    assert seen["pwd"] == os.fsencode(tmp_path)
    assert seen["put"] == seen["get"] == len(payload)
    assert seen["same"]
    assert seen["read"] == b"hello" and seen["eof"] and seen["fstat"] == 5
    assert seen["readlink"] == b"../small"
    assert seen["lstat"] & 0o170000 == 0o120000 and seen["stat"] == 5
    assert seen["ls"] == [b".", b"..", b"link"]
    assert seen["statvfs"] > 0 and seen["limits"] > 0
    assert seen["missing"] == FX.NO_SUCH_FILE
    assert sorted(os.listdir(tmp_path)) == ["big.bin"]
    assert (tmp_path / "big.bin").read_bytes() == b"hello"


# -- measurement -------------------------------------------------------------------------------


def _benchPlaitClient(argv: list[str], size: int, rounds: int) -> tuple[float, float]:
    """The best put and get times of ``rounds`` in one session."""
    reactor = defaultReactorClass()()
    client = FileTransferClient()
    child = _spawn(reactor, argv, client)
    payload = os.urandom(size)
    digest = hashlib.sha256(payload).digest()
    puts: list[float] = []
    gets: list[float] = []

    async def scenario() -> None:
        await client.whenReady()
        for _ in range(rounds):
            start = time.perf_counter()
            await client.put(io.BytesIO(payload), b"bench.bin")
            puts.append(time.perf_counter() - start)
            out = io.BytesIO()
            start = time.perf_counter()
            await client.get(b"bench.bin", out)
            gets.append(time.perf_counter() - start)
            assert hashlib.sha256(out.getvalue()).digest() == digest
        await client.removeFile(b"bench.bin")
        client.transport.loseConnection()  # type: ignore[union-attr]
        await child.ended

    global TIMEOUT
    TIMEOUT = 600.0
    _runUntil(reactor, ensureDeferred(scenario()))
    reactor.close()
    return min(puts), min(gets)


def _benchOpenSSHClient(
    serverCommand: str, workdir: Path, size: int, rounds: int
) -> tuple[float, float]:
    """The best put and get times of ``rounds`` sessions each, less the best session that
    only runs ``pwd`` (the server's start-up)."""
    local = workdir / "local.bin"
    local.write_bytes(os.urandom(size))
    best = []
    lines = ("pwd", f"put {local} bench.bin", f"get bench.bin {workdir}/back.bin")
    for line in lines:
        batch = workdir / "batch"
        batch.write_text(line + "\n")
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            subprocess.run(
                [SFTP or "sftp", "-q", "-b", str(batch), "-D", serverCommand],
                check=True,
                env=_env(),
                stdout=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - start)
        best.append(min(times))
    assert (workdir / "back.bin").read_bytes() == local.read_bytes()
    return best[1] - best[0], best[2] - best[0]


def bench(megabytes: int, rounds: int = 3) -> None:
    """Print put/get MB/s for each client/server pair (best of ``rounds``)."""
    import tempfile

    size = megabytes * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        served = Path(tmp) / "served"
        served.mkdir()
        servers = {
            "plait": [*PLAIT_SERVER, "-d", str(served)],
            "openssh": [SFTP_SERVER or "", "-d", str(served)],
        }
        print(f"{megabytes} MB over a pipe, best of {rounds}; MB/s put / get")
        for name, argv in servers.items():
            put, get = _benchPlaitClient(argv, size, rounds)
            print(
                f"  plait client   -> {name:7} server: {megabytes / put:7.0f} / {megabytes / get:7.0f}"
            )
        for name, argv in servers.items():
            put, get = _benchOpenSSHClient(" ".join(argv), Path(tmp), size, rounds)
            print(
                f"  openssh client -> {name:7} server: {megabytes / put:7.0f} / {megabytes / get:7.0f}"
                "  (server start-up excluded)"
            )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--bench":
        bench(int(sys.argv[2]))
    else:
        print(__doc__)
