"""``plait ssh``: an SSH client with OpenSSH's common options (a one-shot command).

    plait ssh [-p PORT] [-i KEY] [-l USER] [-L SPEC] [-R SPEC] [-o OPTION=VALUE] [-t|-T] [-N]
              [USER@]HOST [COMMAND ...]

With a COMMAND it runs it (stdin, stdout and stderr joined to ours) and exits with its exit
status (255 when the connection failed or the command died of a signal). Without one it opens
the login shell, on a PTY when our stdin is a terminal (``-t`` forces one, ``-T`` refuses),
with the local terminal in raw mode and its size sent along. ``-L [BIND:]PORT:HOST:HOSTPORT``
and ``-R [BIND:]PORT:HOST:HOSTPORT`` forward ports; ``-N`` runs no command (forwarding only,
until interrupted).

``-o`` options understood: ``Port``, ``User``, ``IdentityFile``, ``UserKnownHostsFile``,
``StrictHostKeyChecking`` (``yes``, ``accept-new``, ``no``, ``ask``: the default; asks on the
terminal, refuses without one or with ``BatchMode``), ``BatchMode``, ``ConnectTimeout``,
``PasswordAuthentication``, ``Ciphers``, ``KexAlgorithms``, ``MACs``, ``HostKeyAlgorithms``,
``ServerAliveInterval``; others are ignored with a warning. Keys: ``-i`` files, else
``~/.ssh/id_ed25519``, ``id_ecdsa`` and ``id_rsa`` when present (passphrases asked on the
terminal).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["ClientSettings", "clientSettings", "sshCommand"]

_DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")
_LISTS = {
    "ciphers": "ciphers",
    "kexalgorithms": "kexAlgorithms",
    "macs": "macs",
    "hostkeyalgorithms": "hostKeyAlgorithms",
}
_KNOWN = {
    "port",
    "user",
    "identityfile",
    "userknownhostsfile",
    "stricthostkeychecking",
    "batchmode",
    "connecttimeout",
    "passwordauthentication",
    "serveraliveinterval",
    *_LISTS,
}


class ClientSettings:
    """What the command line asked for, after ``-o`` options and defaults."""

    def __init__(self) -> None:
        self.host = ""
        self.port = 22
        self.user: str | None = None
        self.identityFiles: list[str] = []
        self.knownHosts: str | None = None
        self.strict = "ask"
        self.batch = False
        self.timeout = 30.0
        self.passwords = True
        self.keepalive: float | None = None
        self.algorithms: dict[str, list[str]] = {}


def addClientArguments(parser: argparse.ArgumentParser, portFlag: str) -> None:
    """The options ``plait ssh`` and ``plait sftp`` share (``-p`` / ``-P`` for the port)."""
    parser.add_argument(portFlag, dest="port", type=int, help="port (default 22)")
    parser.add_argument(
        "-i", dest="identity", action="append", default=[], metavar="KEY", help="private key file"
    )
    parser.add_argument(
        "-o",
        dest="options",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="an OpenSSH-style option (see the module docs)",
    )
    parser.add_argument("-F", dest="config", help="ignored (plait reads no ssh_config)")


def _flag(value: str) -> bool:
    return value.strip().lower() in ("yes", "true", "on", "1")


def clientSettings(options: argparse.Namespace, destination: str) -> ClientSettings:
    """Settings from parsed options and a ``[USER@]HOST`` destination (``ValueError`` if bad)."""
    s = ClientSettings()
    user, at, host = destination.rpartition("@")
    s.host = host
    s.user = user if at else getattr(options, "login", None)
    s.identityFiles = list(options.identity)
    for option in options.options:
        name, sep, value = option.partition("=")
        if not sep:
            name, _, value = option.partition(" ")
        key = name.strip().lower()
        value = value.strip()
        if key not in _KNOWN:
            print(f"plait: ignoring unsupported option {name.strip()}", file=sys.stderr)
        elif key == "port":
            s.port = int(value)
        elif key == "user":
            s.user = s.user or value
        elif key == "identityfile":
            s.identityFiles.append(value)
        elif key == "userknownhostsfile":
            s.knownHosts = os.path.expanduser(value.split()[0])
        elif key == "stricthostkeychecking":
            lowered = value.lower()
            s.strict = {"true": "yes", "false": "no", "off": "no", "on": "yes"}.get(
                lowered, lowered
            )
            if s.strict not in ("yes", "no", "accept-new", "ask"):
                raise ValueError(f"bad StrictHostKeyChecking value {value!r}")
        elif key == "batchmode":
            s.batch = _flag(value)
        elif key == "connecttimeout":
            s.timeout = float(value)
        elif key == "passwordauthentication":
            s.passwords = _flag(value)
        elif key == "serveraliveinterval":
            s.keepalive = float(value) or None
        else:
            s.algorithms[_LISTS[key]] = [a for a in value.split(",") if a]
    if options.port is not None:
        s.port = options.port
    if not s.host:
        raise ValueError("no host given")
    return s


def _tty() -> Any:
    """The controlling terminal as a text stream (as getpass opens it), or None."""
    import io

    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    return io.TextIOWrapper(io.FileIO(fd, "w+"), line_buffering=True)


def _ask(prompt: str, secret: bool) -> str | None:
    """Ask on the terminal; None without one."""
    import getpass

    tty = _tty()
    if tty is None:
        return None
    try:
        if secret:
            return str(getpass.getpass(prompt, stream=tty))
        tty.write(prompt)
        tty.flush()
        return str(tty.readline()).strip()
    finally:
        tty.close()


def loadKeys(settings: ClientSettings) -> list[Any]:
    """The private keys to offer: ``-i`` files, else the default ones that exist."""
    from plait.wire.ssh.keys import (
        BadPassphraseError,
        EncryptedKeyError,
        KeyFormatError,
        loadPrivateKey,
    )

    paths = [os.path.expanduser(p) for p in settings.identityFiles]
    explicit = bool(paths)
    if not explicit:
        sshDir = os.path.join(os.path.expanduser("~"), ".ssh")
        paths = [os.path.join(sshDir, n) for n in _DEFAULT_KEYS]
    keys = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            if explicit:
                print(f"plait: cannot read {path}: {e.strerror}", file=sys.stderr)
            continue
        try:
            keys.append(loadPrivateKey(data))
        except EncryptedKeyError:
            if settings.batch:
                continue
            passphrase = _ask(f"Enter passphrase for key '{path}': ", secret=True)
            if passphrase is None:
                continue
            try:
                keys.append(loadPrivateKey(data, passphrase.encode()))
            except (BadPassphraseError, KeyFormatError) as e:
                print(f"plait: {path}: {e}", file=sys.stderr)
        except KeyFormatError as e:
            print(f"plait: {path}: {e}", file=sys.stderr)
    return keys


def hostKeyChecker(settings: ClientSettings) -> Any:
    """``verifyHostKey(key) -> bool``: the known_hosts file under the chosen policy, asking
    on the terminal for an unknown key under ``ask``."""
    from plait.ssh.client import KnownHostsVerifier

    path = settings.knownHosts or os.path.join(os.path.expanduser("~"), ".ssh", "known_hosts")
    known = None if path == os.devnull else path
    policy = "yes" if settings.strict == "ask" else settings.strict
    verifier = KnownHostsVerifier(known, settings.host, settings.port, policy)

    class Check:
        """The policy as a callable; ``error`` is the refusal (a ``HostKeyError``)."""

        @property
        def error(self) -> Any:
            return verifier.error

        def __call__(self, key: Any) -> bool:
            if verifier(key):
                return True
            error = verifier.error
            unknown = error is not None and error.verdict == "unknown"
            if settings.strict == "ask" and unknown and not settings.batch:
                answer = _ask(
                    f"The authenticity of host '{settings.host}' can't be established.\n"
                    f"{key.keyType} key fingerprint is {key.fingerprint()}.\n"
                    "Are you sure you want to continue connecting (yes/no)? ",
                    secret=False,
                )
                if answer is not None and answer.lower() == "yes":
                    verifier.error = None
                    verifier._add(key)
                    return True
            if error is not None:
                print(f"plait: {error}", file=sys.stderr)
            return False

    return Check()


def connectWith(reactor: Any, settings: ClientSettings) -> Any:
    """``plait.ssh.client.connect`` with these settings."""
    from plait.ssh.client import connect

    algorithms: dict[str, Any] = dict(settings.algorithms)
    getPassword = None
    if settings.passwords and not settings.batch:
        target = f"{settings.user or os.environ.get('USER', '')}@{settings.host}"

        def getPassword(prompt: str) -> str | None:
            return _ask(f"{target}'s password: " if "assword" in prompt else prompt, True)

    return connect(
        reactor,
        settings.host,
        settings.port,
        settings.user,
        keys=loadKeys(settings),
        password=getPassword,
        verifyHostKey=hostKeyChecker(settings),
        timeout=settings.timeout,
        keepaliveInterval=settings.keepalive,
        **algorithms,
    )


def describeFailure(failure: Any) -> str:
    """One line for a failed connection."""
    from plait.ssh.client import HostKeyError

    if failure.check(HostKeyError):
        return "host key verification failed"
    return str(failure.getErrorMessage())


def parseForward(spec: str) -> tuple[str, int, str, int]:
    """``[BIND:]PORT:HOST:HOSTPORT`` -> (bind, port, host, hostport); IPv6 in brackets."""
    parts: list[str] = []
    rest = spec
    while rest:
        if rest.startswith("["):
            end = rest.index("]")
            parts.append(rest[1:end])
            rest = rest[end + 1 :].removeprefix(":")
        else:
            part, _, rest = rest.partition(":")
            parts.append(part)
    if len(parts) == 3:
        parts.insert(0, "127.0.0.1")
    if len(parts) != 4:
        raise ValueError(f"bad forwarding specification {spec!r}")
    bind = parts[0] if parts[0] not in ("", "*", "localhost") else "127.0.0.1"
    return bind, int(parts[1]), parts[2], int(parts[3])


class _SSHCommand:
    name = "ssh"
    description = "an SSH client: run a command or a shell, forward ports (OpenSSH's options)"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        addClientArguments(parser, "-p")
        parser.add_argument("-l", dest="login", metavar="USER", help="user to log in as")
        parser.add_argument("-L", dest="local", action="append", default=[], metavar="SPEC")
        parser.add_argument("-R", dest="remote", action="append", default=[], metavar="SPEC")
        tty = parser.add_mutually_exclusive_group()
        tty.add_argument("-t", dest="tty", action="store_true", help="force a PTY")
        tty.add_argument("-T", dest="notty", action="store_true", help="never a PTY")
        parser.add_argument("-N", dest="nocommand", action="store_true", help="no command")
        parser.add_argument("-q", dest="quiet", action="store_true", help="quiet")
        parser.add_argument("-v", dest="verbose", action="count", default=0, help="log more")
        parser.add_argument("destination", metavar="[USER@]HOST")
        parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")

    def run(self, options: argparse.Namespace) -> int:
        try:
            import cryptography  # noqa: F401
        except ImportError:
            print("plait ssh needs the ssh extra: pip install 'plait[ssh]'", file=sys.stderr)
            return 255
        from ._cmd_ssh_session import runClient

        try:
            settings = clientSettings(options, options.destination)
            forwards = [("L", *parseForward(s)) for s in options.local]
            forwards += [("R", *parseForward(s)) for s in options.remote]
        except ValueError as e:
            print(f"plait ssh: {e}", file=sys.stderr)
            return 255
        return runClient(settings, options, forwards)


sshCommand = _SSHCommand()
