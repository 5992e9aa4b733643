"""plait's SSH server for the SSH rows; run in the benchmark venv by the worker.

    python ssh_plait.py PORT HOST_KEY AUTHORIZED_KEYS

The server ``plait sshd`` runs (``plait.app._cmd_ssh_unix``): 127.0.0.1:PORT on the epoll reactor,
the OpenSSH private key HOST_KEY, the user running it logging in with a key in
AUTHORIZED_KEYS, exec requests run as ``$SHELL -c COMMAND`` in a child process. Exit status 3:
not available here (plait's SSH pieces are missing).
"""

from __future__ import annotations

import sys


def unavailable(why: object) -> None:
    print(f"unavailable: {why}", file=sys.stderr)
    sys.exit(3)


def main(port: int, hostKeyPath: str, authorizedKeysPath: str) -> None:
    try:
        from plait.app._cmd_ssh_unix import runSSHServer
    except ImportError as e:
        unavailable(f"plait's SSH server: {e}")
    from plait.reactor import EPollReactor

    reactor = EPollReactor()
    runSSHServer(
        reactor,
        listen=f"tcp:{port}:interface=127.0.0.1",
        hostKeyPaths=[hostKeyPath],
        authorizedKeys=authorizedKeysPath,
        environment={"SHLVL": "1"},  # as the other servers: bash reads no ~/.bashrc
    )
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
