"""A Twisted Conch SSH server for the SSH rows; run in the benchmark venv by the worker.

    python ssh_conch.py PORT HOST_KEY AUTHORIZED_KEYS

Listens on 127.0.0.1:PORT with the OpenSSH private key HOST_KEY, lets the user running it log
in with any key in AUTHORIZED_KEYS, and runs each exec request as ``$SHELL -c COMMAND`` (the
user's login shell, as sshd does) in a child process wired to the session channel, exit status
included. Conch's own key exchange, ciphers and MACs: whatever it supports is offered. Exit
status 3: not available here.
"""

from __future__ import annotations

import os
import pwd
import sys
from typing import Any


def unavailable(why: object) -> None:
    print(f"unavailable: {why}", file=sys.stderr)
    sys.exit(3)


def main(port: int, hostKeyPath: str, authorizedKeysPath: str) -> None:
    from twisted.internet import epollreactor

    epollreactor.install()  # before Conch's modules, which import the default reactor
    try:
        from twisted.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
        from twisted.conch.interfaces import ISession
        from twisted.conch.ssh import factory, keys, session
    except ImportError as e:
        unavailable(f"Twisted Conch: {e}")
    from twisted.conch.avatar import ConchUser
    from twisted.cred.portal import IRealm, Portal
    from twisted.internet import reactor
    from twisted.python import components
    from zope.interface import implementer

    me = pwd.getpwuid(os.getuid())
    env = {
        "HOME": me.pw_dir,
        "USER": me.pw_name,
        "LOGNAME": me.pw_name,
        "SHELL": me.pw_shell,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "SHLVL": "1",  # as the benchmark's sshd: bash reads no ~/.bashrc (rows/ssh.py)
    }

    class User(ConchUser):  # type: ignore[misc]
        def __init__(self) -> None:
            ConchUser.__init__(self)
            self.channelLookup[b"session"] = session.SSHSession

    @implementer(ISession)
    class Session:
        def __init__(self, avatar: User) -> None:
            self.avatar = avatar
            self.process: Any = None

        def execCommand(self, proto: Any, command: bytes) -> None:
            shell = me.pw_shell or "/bin/sh"
            self.process = reactor.spawnProcess(
                proto, shell, [shell, "-c", command.decode()], env=env, path=me.pw_dir
            )

        def getPty(self, term: bytes, windowSize: Any, modes: Any) -> None:
            raise NotImplementedError("no PTYs in the benchmark server")

        def openShell(self, proto: Any) -> None:
            raise NotImplementedError("exec only")

        def windowChanged(self, newWindowSize: Any) -> None:
            pass

        def eofReceived(self) -> None:
            if self.process is not None:
                self.process.closeStdin()

        def closed(self) -> None:
            if self.process is not None and self.process.pid is not None:
                self.process.signalProcess("HUP")

    components.registerAdapter(Session, User, ISession)

    @implementer(IRealm)
    class Realm:
        def requestAvatar(self, avatarId: bytes, mind: Any, *interfaces: Any) -> Any:
            return interfaces[0], User(), lambda: None

    with open(authorizedKeysPath, "rb") as f:
        authorized = [keys.Key.fromString(line) for line in f.read().splitlines() if line.strip()]
    checker = SSHPublicKeyChecker(InMemorySSHKeyDB({me.pw_name.encode(): authorized}))
    with open(hostKeyPath, "rb") as f:
        hostKey = keys.Key.fromString(f.read())

    class Factory(factory.SSHFactory):  # type: ignore[misc]
        publicKeys = {hostKey.sshType(): hostKey.public()}
        privateKeys = {hostKey.sshType(): hostKey}

        def getPrimes(self) -> None:
            return None  # no /etc/ssh/moduli: the fixed groups only

    sshFactory = Factory()
    sshFactory.portal = Portal(Realm(), [checker])
    reactor.listenTCP(port, sshFactory, backlog=128, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
