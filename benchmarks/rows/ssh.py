"""SSH rows (issue 10, the paper's §8.1): OpenSSH's ``ssh`` client against four servers.

The servers: plait (``plait sshd``'s pieces, servers/ssh_plait.py), OpenSSH's ``sshd`` (a
private config in a temp dir), Twisted Conch (servers/ssh_conch.py) and asyncssh
(servers/ssh_asyncssh.py). Every one listens on 127.0.0.1 with a fresh ed25519 host key, lets
the user running the benchmark log in with a fresh ed25519 key, and runs exec requests as
``$SHELL -c COMMAND`` in a child process. The client is always OpenSSH's ``ssh`` with the same
algorithms forced on every server: ``curve25519-sha256`` key exchange, ``ssh-ed25519`` host
key, and the row's cipher (``hmac-sha2-256`` as the MAC where the cipher is not an AEAD);
``-F /dev/null``, no agent, no compression, no known_hosts. The server (and the commands it
runs) is pinned to CPU 0, ``ssh`` and the local ends of its pipes to CPU 1.

``ssh.connect.seq``: ``ssh host true`` one after another (20 per sample; 10 with ``--quick``),
connections/s. ``ssh.connect.conc8``: the same with 8 at a time (64; 32). Cipher aes128-ctr,
which every server offers.

``ssh.up.CIPHER`` / ``ssh.down.CIPHER``: 1 GiB (256 MiB with ``--quick``) of zeros through
one session: ``head -c N /dev/zero | ssh host 'wc -c'`` and ``ssh host 'head -c N /dev/zero' |
wc -c``; the byte count is checked. MB/s (10^6) over the transfer time = the command's wall
time minus the median wall time of ``ssh host true`` with the same options (the connection
set-up and tear-down). A server that does not offer the cipher shows "not available".

Under sshd, bash reads ``~/.bashrc`` even for ``bash -c`` (it sees ``SSH_CLIENT`` and a shell
level below 2): on a machine whose root has ``pyenv init`` there, that is 130 ms per connection,
which measures the account, not SSH. Every server therefore gives its commands ``SHLVL=1``
(sshd through ``SetEnv``), which stops that.

The CPU-time view is the server's CPU (its own and its reaped children's: sshd's per-connection
processes, the shells and commands) per connection or per MB.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from . import Context, Impl, Measure, Row, Target, Unavailable
from ._net import HOST, Server, freePort, pinned

SERVER_CPU = "server_cpu_us_per_op"
IMPLS = ("plait", "openssh", "conch", "asyncssh")
CONNECT_CIPHER = "aes128-ctr"
CIPHERS = ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr")
SSHD = "/usr/sbin/sshd"


class _SSHServer(Server):
    def probe(self) -> None:
        """The server must send its SSH identification string."""
        with socket.create_connection((HOST, self.port), timeout=2) as s:
            s.sendall(b"SSH-2.0-probe\r\n")
            got = s.recv(256)
            if not got.startswith(b"SSH-"):
                raise RuntimeError(f"server answered {got!r} instead of an SSH banner")


class _Setup:
    """A temp dir with a host key, a client key and an authorized_keys for the current user."""

    def __init__(self, root: Path) -> None:
        keygen = shutil.which("ssh-keygen")
        if keygen is None or shutil.which("ssh") is None:
            raise Unavailable("OpenSSH's ssh / ssh-keygen not installed (Debian: openssh-client)")
        self.root = root
        self.hostKey = root / "ssh_host_ed25519_key"
        self.clientKey = root / "id_ed25519"
        for path in (self.hostKey, self.clientKey):
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)], check=True
            )
        self.authorizedKeys = root / "authorized_keys"
        self.authorizedKeys.write_bytes(Path(f"{self.clientKey}.pub").read_bytes())
        self.authorizedKeys.chmod(0o600)
        self.user = pwd.getpwuid(os.getuid()).pw_name

    def serverCommand(self, ctx: Context, impl: str, port: int) -> list[str]:
        if impl == "openssh":
            return self._sshd(port)
        script = ctx.benchDir / "servers" / f"ssh_{impl}.py"
        keys = [str(self.hostKey), str(self.authorizedKeys)]
        return [ctx.python, str(script), str(port), *keys]

    def _sshd(self, port: int) -> list[str]:
        if not os.access(SSHD, os.X_OK):
            raise Unavailable(f"{SSHD} not installed (Debian: openssh-server)")
        if os.getuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        config = self.root / "sshd_config"
        config.write_text(
            f"ListenAddress {HOST}\n"
            f"Port {port}\n"
            f"HostKey {self.hostKey}\n"
            f"PidFile {self.root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.authorizedKeys}\n"
            "StrictModes no\n"
            "UsePAM no\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UseDNS no\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            "MaxStartups 100\n"
            "SetEnv SHLVL=1\n"  # see the module docstring: no ~/.bashrc
            "LogLevel ERROR\n"
        )
        return [SSHD, "-D", "-e", "-f", str(config)]

    def client(self, port: int, cipher: str) -> list[str]:
        """The ``ssh`` command line up to (not including) the remote command."""
        opts = {
            "BatchMode": "yes",
            "StrictHostKeyChecking": "no",
            "UserKnownHostsFile": "/dev/null",
            "GlobalKnownHostsFile": "/dev/null",
            "IdentitiesOnly": "yes",
            "IdentityAgent": "none",
            "IdentityFile": str(self.clientKey),
            "LogLevel": "INFO",  # "Unable to negotiate" is INFO
            "Compression": "no",
            "ControlMaster": "no",
            "ControlPath": "none",
            "RequestTTY": "no",
            "KexAlgorithms": "curve25519-sha256",
            "HostKeyAlgorithms": "ssh-ed25519",
            "PubkeyAcceptedAlgorithms": "ssh-ed25519",
            "Ciphers": cipher,
            "MACs": "hmac-sha2-256",
        }
        cmd = [shutil.which("ssh") or "ssh", "-F", "/dev/null", "-p", str(port)]
        for key, value in opts.items():
            cmd += ["-o", f"{key}={value}"]
        return [*cmd, f"{self.user}@{HOST}"]


@contextmanager
def _serving(ctx: Context, impl: str) -> Iterator[tuple[_Setup, _SSHServer]]:
    with tempfile.TemporaryDirectory(prefix="plait-bench-ssh-") as tmp:
        setup = _Setup(Path(tmp))
        port = freePort()
        with _SSHServer(ctx, setup.serverCommand(ctx, impl, port), port) as server:
            yield setup, server


def _treeCPU(pid: int) -> float:
    """User + system CPU of a process and of the children it has reaped, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _failure(impl: str, cipher: str, done: subprocess.CompletedProcess[bytes]) -> Exception:
    err = done.stderr.decode(errors="replace").strip()
    if "no matching cipher" in err or "no matching MAC" in err:
        return Unavailable(f"{impl} does not offer {cipher}")
    if "no matching key exchange" in err or "no matching host key" in err:
        return Unavailable(f"{impl} does not offer curve25519-sha256 with ssh-ed25519")
    return RuntimeError(f"ssh exited {done.returncode}: {err[-300:] or 'no message'}")


def _true(ctx: Context, impl: str, cmd: list[str], cipher: str) -> float:
    """Run ``ssh host true`` once; return its wall time."""
    t0 = time.perf_counter()
    done = subprocess.run(
        pinned(ctx, 1, [*cmd, "true"]),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=60,
        check=False,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise _failure(impl, cipher, done)
    return wall


def _connect(impl: str, inFlight: int) -> Measure:
    def measure(ctx: Context) -> list[float]:
        count = (10 if ctx.quick else 20) if inFlight == 1 else (32 if ctx.quick else 64)
        with _serving(ctx, impl) as (setup, server):
            cmd = setup.client(server.port, CONNECT_CIPHER)
            for _ in range(3):  # warm-up (and the first failure says why)
                _true(ctx, impl, cmd, CONNECT_CIPHER)
            samples = []
            with ThreadPoolExecutor(inFlight) as pool:
                for _ in range(ctx.samples):
                    time.sleep(0.2)  # let the server reap the previous round's children
                    cpu = _treeCPU(server.pid)
                    t0 = time.perf_counter()
                    list(pool.map(lambda _: _true(ctx, impl, cmd, CONNECT_CIPHER), range(count)))
                    samples.append(count / (time.perf_counter() - t0))
                    server.checkAlive()
                    time.sleep(0.2)
                    ctx.record(SERVER_CPU, (_treeCPU(server.pid) - cpu) * 1e6 / count)
            return samples

    return measure


def _bytes(ctx: Context) -> int:
    return (256 if ctx.quick else 1024) << 20


def _transfer(impl: str, cipher: str, upload: bool) -> Measure:
    def measure(ctx: Context) -> list[float]:
        size = _bytes(ctx)
        produce = ["head", "-c", str(size), "/dev/zero"]
        with _serving(ctx, impl) as (setup, server):
            cmd = setup.client(server.port, cipher)
            setupTime = statistics.median(_true(ctx, impl, cmd, cipher) for _ in range(3))
            samples = []
            for _ in range(ctx.samples):
                time.sleep(0.2)
                cpu = _treeCPU(server.pid)
                if upload:
                    wall, counted = _pipeline(ctx, impl, cipher, produce, [*cmd, "wc -c"], False)
                else:
                    down = [*cmd, " ".join(produce)]
                    wall, counted = _pipeline(ctx, impl, cipher, down, ["wc", "-c"], True)
                if counted != size:
                    raise RuntimeError(f"{counted} bytes arrived instead of {size}")
                samples.append(size / 1e6 / max(wall - setupTime, 1e-3))
                server.checkAlive()
                time.sleep(0.2)
                ctx.record(SERVER_CPU, (_treeCPU(server.pid) - cpu) * 1e6 / (size / 1e6))
            return samples

    return measure


def _pipeline(
    ctx: Context, impl: str, cipher: str, first: list[str], second: list[str], sshIsFirst: bool
) -> tuple[float, int]:
    """Run ``first | second`` on CPU 1; return the wall time and the count ``second`` printed."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        producer = subprocess.Popen(
            pinned(ctx, 1, first),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors if sshIsFirst else subprocess.DEVNULL,
        )
        assert producer.stdout is not None
        try:
            done = subprocess.run(
                pinned(ctx, 1, second),
                stdin=producer.stdout,
                capture_output=True,
                timeout=600,
                check=False,
            )
        finally:
            producer.stdout.close()
            try:
                producer.wait(timeout=30)
            except subprocess.TimeoutExpired:
                producer.kill()
                producer.wait()
        wall = time.perf_counter() - t0
        errors.seek(0)
        sshStatus = producer.returncode if sshIsFirst else done.returncode
        if sshStatus != 0:
            stderr = errors.read() if sshIsFirst else done.stderr
            raise _failure(impl, cipher, subprocess.CompletedProcess(first, sshStatus, b"", stderr))
    try:
        return wall, int(done.stdout.split()[0])
    except (IndexError, ValueError):
        raise RuntimeError(f"no byte count from wc: {done.stdout!r} {done.stderr!r}") from None


_TARGETS_SOURCE = "issue 10: >= 20 conn/s sequential, >= 90 with 8 in parallel (beat OpenSSH)"


def _cipherName(cipher: str) -> str:
    return cipher.split("@")[0]


def _transferRow(cipher: str, upload: bool) -> Row:
    direction = "up" if upload else "down"
    what = (
        "upload: head -c N /dev/zero | ssh host 'wc -c'"
        if upload
        else ("download: ssh host 'head -c N /dev/zero' | wc -c")
    )
    targets: tuple[Target, ...] = ()
    if cipher == "aes128-gcm@openssh.com":
        # The absolute targets (700/500 MB/s) relative to asyncssh's 615/347 there.
        targets = (Target("asyncssh", 1.0, source="issue 10: >= 700 up / 500 down MB/s"),)
    return Row(
        id=f"ssh.{direction}.{_cipherName(cipher)}",
        title=f"1 GiB {what}, {cipher}",
        unit="MB/s",
        impls=tuple(Impl(name, _transfer(name, cipher, upload)) for name in IMPLS),
        targets=targets,
        timeout=lambda ctx: 120 + ctx.samples * 180,
        note="256 MiB with --quick",
    )


ROWS = [
    Row(
        id="ssh.connect.seq",
        title="OpenSSH `ssh host true`, one after another (aes128-ctr)",
        unit="conn/s",
        impls=tuple(Impl(name, _connect(name, 1)) for name in IMPLS),
        targets=(Target("openssh", 1.0, source=_TARGETS_SOURCE),),
        timeout=lambda ctx: 120 + ctx.samples * 60,
    ),
    Row(
        id="ssh.connect.conc8",
        title="OpenSSH `ssh host true`, 8 at a time (aes128-ctr)",
        unit="conn/s",
        impls=tuple(Impl(name, _connect(name, 8)) for name in IMPLS),
        targets=(Target("openssh", 1.0, source=_TARGETS_SOURCE),),
        timeout=lambda ctx: 120 + ctx.samples * 60,
    ),
    *(_transferRow(cipher, upload) for cipher in CIPHERS for upload in (True, False)),
]
