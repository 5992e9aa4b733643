"""Measure (and profile) plait's SSH server against OpenSSH's sshd with OpenSSH's ``ssh`` client.

    python3 benchmarks/ssh_profile.py [--servers plait,openssh] [--what seq,par,up,down]
        [--size MIB] [--repeat N] [--cipher NAME] [--profile OUT.prof] [--no-pin]

A quick, bounded companion to the benchmark rows in ``benchmarks/rows/ssh.py`` (same set-up:
fresh ed25519 host and client keys in a temp dir, 127.0.0.1, ``curve25519-sha256``,
``ssh-ed25519``, the server and its commands on CPU 0 and ``ssh`` with its pipes on CPU 1), for
working on plait's speed: it prints the median of ``--repeat`` runs of

- ``seq``: ``ssh host true`` one after another (conn/s),
- ``par``: the same 8 at a time (conn/s),
- ``up``: ``head -c SIZE /dev/zero | ssh host 'wc -c'`` (MB/s, 10^6),
- ``down``: ``ssh host 'head -c SIZE /dev/zero' | wc -c`` (MB/s),

MB/s over the wall time minus the median ``ssh host true`` time. ``--profile OUT`` runs plait's
server under cProfile and writes the stats to OUT when the measurements are over (read them
with ``python3 -m pstats OUT``). ``--serve PORT HOSTKEY AUTHKEYS [PROFILE]`` is the server
process itself (used internally).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
SSHD = "/usr/sbin/sshd"


def serve(port: int, hostKey: str, authorizedKeys: str, profile: str | None) -> None:
    """plait's SSH server (as benchmarks/servers/ssh_plait.py), optionally under cProfile."""
    from plait.app._cmd_ssh_unix import runSSHServer
    from plait.reactor import EPollReactor

    reactor = EPollReactor()
    runSSHServer(
        reactor,
        listen=f"tcp:{port}:interface={HOST}",
        hostKeyPaths=[hostKey],
        authorizedKeys=authorizedKeys,
        environment={"SHLVL": "1"},
    )
    if profile is None:
        reactor.run()
        return
    import cProfile

    profiler = cProfile.Profile(time.process_time)  # CPU, not time spent waiting in epoll
    profiler.runcall(reactor.run)
    profiler.dump_stats(profile)


def _freePort() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Bench:
    def __init__(self, root: Path, cipher: str, pin: bool) -> None:
        self.root, self.cipher, self.pin = root, cipher, pin
        self.hostKey = root / "host_ed25519"
        self.clientKey = root / "id_ed25519"
        for path in (self.hostKey, self.clientKey):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
                check=True,
            )
        self.authorized = root / "authorized_keys"
        self.authorized.write_bytes(Path(f"{self.clientKey}.pub").read_bytes())
        self.authorized.chmod(0o600)

    def pinned(self, cpu: int, cmd: list[str]) -> list[str]:
        return ["taskset", "-c", str(cpu), *cmd] if self.pin else cmd

    def start(self, impl: str, profile: str | None) -> tuple[subprocess.Popen[bytes], int]:
        port = _freePort()
        if impl == "plait":
            cmd = [sys.executable, __file__, "--serve", str(port), str(self.hostKey)]
            cmd += [str(self.authorized)] + ([profile] if profile else [])
        else:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
            config = self.root / "sshd_config"
            config.write_text(
                f"ListenAddress {HOST}\nPort {port}\nHostKey {self.hostKey}\n"
                f"PidFile {self.root / 'sshd.pid'}\nAuthorizedKeysFile {self.authorized}\n"
                "StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
                "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n"
                "PrintMotd no\nPrintLastLog no\nMaxStartups 100\nSetEnv SHLVL=1\n"
                "LogLevel ERROR\n"
            )
            cmd = [SSHD, "-D", "-e", "-f", str(config)]
        proc = subprocess.Popen(self.pinned(0, cmd))
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1) as s:
                    s.sendall(b"SSH-2.0-probe\r\n")
                    if s.recv(64).startswith(b"SSH-"):
                        return proc, port
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{impl} server did not start") from None
                time.sleep(0.05)

    def client(self, port: int) -> list[str]:
        opts = {
            "BatchMode": "yes",
            "StrictHostKeyChecking": "no",
            "UserKnownHostsFile": "/dev/null",
            "GlobalKnownHostsFile": "/dev/null",
            "IdentitiesOnly": "yes",
            "IdentityAgent": "none",
            "IdentityFile": str(self.clientKey),
            "LogLevel": "ERROR",
            "Compression": "no",
            "ControlMaster": "no",
            "ControlPath": "none",
            "RequestTTY": "no",
            "KexAlgorithms": "curve25519-sha256",
            "HostKeyAlgorithms": "ssh-ed25519",
            "PubkeyAcceptedAlgorithms": "ssh-ed25519",
            "Ciphers": self.cipher,
            "MACs": "hmac-sha2-256",
        }
        cmd = ["ssh", "-F", "/dev/null", "-p", str(port)]
        for key, value in opts.items():
            cmd += ["-o", f"{key}={value}"]
        return [*cmd, f"{_user()}@{HOST}"]

    def true(self, cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(
            self.pinned(1, [*cmd, "true"]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            check=True,
            timeout=30,
        )
        return time.perf_counter() - t0

    def connections(self, cmd: list[str], count: int, inFlight: int) -> float:
        with ThreadPoolExecutor(inFlight) as pool:
            t0 = time.perf_counter()
            list(pool.map(lambda _: self.true(cmd), range(count)))
            return count / (time.perf_counter() - t0)

    def transfer(self, cmd: list[str], size: int, upload: bool, setup: float) -> float:
        produce = f"head -c {size} /dev/zero"
        if upload:
            shell = f"{produce} | {' '.join(self.pinned(1, [*cmd, 'wc -c']))}"
        else:
            quoted = [*cmd, f"'{produce}'"]
            shell = f"{' '.join(self.pinned(1, quoted))} | wc -c"
        t0 = time.perf_counter()
        out = subprocess.run(
            ["sh", "-c", shell], capture_output=True, check=True, timeout=300
        ).stdout
        wall = time.perf_counter() - t0
        if int(out.split()[0]) != size:
            raise RuntimeError(f"{out!r} bytes arrived instead of {size}")
        return size / 1e6 / max(wall - setup, 1e-3)


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of a process itself and of the children it has reaped."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = [int(f) for f in stat[stat.rindex(")") + 2 :].split()[11:15]]
    tick = os.sysconf("SC_CLK_TCK")
    return (fields[0] + fields[1]) / tick, (fields[2] + fields[3]) / tick


def measure(
    bench: Bench, impl: str, what: list[str], args: Any
) -> tuple[dict[str, list[float]], dict[str, list[tuple[float, float]]]]:
    """Samples per measurement, and the server's CPU per operation (own, children's):
    milliseconds per connection or per MB."""
    proc, port = bench.start(impl, args.profile if impl == "plait" else None)
    results: dict[str, list[float]] = {}
    cpu: dict[str, list[tuple[float, float]]] = {}
    try:
        cmd = bench.client(port)
        setup = statistics.median(bench.true(cmd) for _ in range(3))
        for name in what:
            samples = results.setdefault(name, [])
            for _ in range(args.repeat):
                time.sleep(0.1)
                before = _cpu(proc.pid)
                if name == "seq":
                    ops: float = args.conns
                    samples.append(bench.connections(cmd, args.conns, 1))
                elif name == "par":
                    ops = args.conns * 2
                    samples.append(bench.connections(cmd, args.conns * 2, 8))
                else:
                    size = args.size << 20
                    ops = size / 1e6
                    samples.append(bench.transfer(cmd, size, name == "up", setup))
                time.sleep(0.1)  # children reaped
                after = _cpu(proc.pid)
                cpu.setdefault(name, []).append(
                    ((after[0] - before[0]) * 1e3 / ops, (after[1] - before[1]) * 1e3 / ops)
                )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return results, cpu


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        rest = sys.argv[2:]
        serve(int(rest[0]), rest[1], rest[2], rest[3] if len(rest) > 3 else None)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="plait,openssh")
    parser.add_argument("--what", default="seq,par,up,down")
    parser.add_argument("--size", type=int, default=1024, help="MiB per transfer")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--conns", type=int, default=20, help="connections per seq sample")
    parser.add_argument("--cipher", default="aes128-gcm@openssh.com")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    args = parser.parse_args()
    if shutil.which("ssh") is None:
        sys.exit("OpenSSH's ssh is not installed")
    what = args.what.split(",")
    units = {"seq": "conn/s", "par": "conn/s", "up": "MB/s", "down": "MB/s"}
    with tempfile.TemporaryDirectory(prefix="plait-ssh-profile-") as tmp:
        bench = Bench(Path(tmp), args.cipher, args.pin)
        for impl in args.servers.split(","):
            results, cpu = measure(bench, impl, what, args)
            for name, samples in results.items():
                shown = " ".join(f"{s:.1f}" for s in samples)
                own = statistics.median(c[0] for c in cpu[name])
                children = statistics.median(c[1] for c in cpu[name])
                per = "conn" if units[name] == "conn/s" else "MB"
                print(
                    f"{impl:8} {name:5} median {statistics.median(samples):8.1f} {units[name]:6}"
                    f" ({shown}); server CPU ms/{per}: {own:.2f} + children {children:.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
