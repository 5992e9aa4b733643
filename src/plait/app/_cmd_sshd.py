"""``plait sshd``: an SSH server for UNIX logins (sessions, commands, PTYs, SFTP, forwarding).

    plait sshd [--listen ENDPOINT ...] [--host-key PATH ...] [--authorized-keys PATH]
               [--state-dir DIR] [--password-auth] [--sftp-server COMMAND]
               [--login-grace-time SECONDS]

Run as root it logs in the system's users (``pwd``): public keys from each user's
``~/.ssh/authorized_keys`` (OpenSSH's permission checks), or from ``--authorized-keys`` for
every user, and with ``--password-auth`` passwords and keyboard-interactive through PAM (or
``/etc/shadow`` without libpam). Each session runs the user's login shell, ``shell -c
COMMAND`` or the SFTP server (``python -m plait.ssh.sftp``, or ``--sftp-server COMMAND``, e.g.
``/usr/lib/openssh/sftp-server``, when this Python is not executable by every user) as that
user's uid/gid, on a PTY when asked; ``-L``/``-R`` forwarding follows the key's options
(``no-port-forwarding``, ``permitopen``...). Run as any other user it logs in that user only, and serves SFTP in
process.

Host keys: ``--host-key PATH`` (repeatable; OpenSSH or PEM private keys, which must exist), or
else the state directory's ``ssh_host_{ed25519,ecdsa,rsa}_key``, generated (with ``.pub``
files) on first start when absent. The state directory is ``/etc/plait/ssh`` for root and
``~/.plait/ssh`` for other users (``--state-dir`` chooses another). ``--listen`` defaults to
``tcp:2222:interface=127.0.0.1``; several may be given.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._serveroptions import addHostKeyArguments, addListenArgument, listenServices, optionHostKeys

__all__ = ["sshdCommand"]

DEFAULT_LISTEN = "tcp:2222:interface=127.0.0.1"


class _SSHDCommand:
    name = "sshd"
    description = "an SSH server: logins, shells, commands, PTYs, SFTP and port forwarding"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        addListenArgument(parser, DEFAULT_LISTEN)
        addHostKeyArguments(
            parser,
            stateDirHelp="host keys made on first start (default /etc/plait/ssh as root, else "
            "~/.plait/ssh)",
        )
        parser.add_argument(
            "--authorized-keys",
            metavar="PATH",
            help="one authorized_keys file for every user (default: ~/.ssh/authorized_keys)",
        )
        parser.add_argument(
            "--password-auth",
            action="store_true",
            help="also accept passwords and keyboard-interactive (PAM, else /etc/shadow)",
        )
        parser.add_argument(
            "--sftp-server",
            metavar="COMMAND",
            help="shell command serving SFTP on stdin/stdout as the user (default: plait's "
            "own, in process for the server's own user)",
        )
        parser.add_argument(
            "--login-grace-time",
            type=float,
            default=120.0,
            metavar="SECONDS",
            help="disconnect clients that have not logged in after this long (120)",
        )

    def makeService(self, reactor: Any, options: argparse.Namespace) -> Any:
        try:
            import cryptography  # noqa: F401
        except ImportError:
            raise ValueError("plait sshd needs the ssh extra: pip install 'plait[ssh]'") from None
        from ._cmd_ssh_unix import makePortal, makeSSHServerFactory

        keys = optionHostKeys(options)
        portal = makePortal(
            reactor,
            options.authorized_keys,
            options.password_auth,
            sftpServer=options.sftp_server,
        )
        factory = makeSSHServerFactory(
            reactor, keys, portal, loginGraceTime=options.login_grace_time
        )
        return listenServices(reactor, options.listen, factory)


sshdCommand = _SSHDCommand()
