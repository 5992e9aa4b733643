"""An asyncssh SSH server for the SSH rows; run in the benchmark venv by the worker.

    python ssh_asyncssh.py PORT HOST_KEY AUTHORIZED_KEYS

Listens on 127.0.0.1:PORT (asyncio's default event loop) with the OpenSSH private key HOST_KEY,
lets the user running it log in with any key in AUTHORIZED_KEYS, and runs each exec request as
``$SHELL -c COMMAND`` (the user's login shell, as sshd does) in an asyncio subprocess whose
pipes are copied to and from the channel, exit status included. Exit status 3: not
available here.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import sys
from typing import Any


def unavailable(why: object) -> None:
    print(f"unavailable: {why}", file=sys.stderr)
    sys.exit(3)


def main(port: int, hostKeyPath: str, authorizedKeysPath: str) -> None:
    try:
        import asyncssh
    except ImportError as e:
        unavailable(f"asyncssh: {e}")

    me = pwd.getpwuid(os.getuid())
    shell = me.pw_shell or "/bin/sh"
    env = {
        "HOME": me.pw_dir,
        "USER": me.pw_name,
        "LOGNAME": me.pw_name,
        "SHELL": shell,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "SHLVL": "1",  # as the benchmark's sshd: bash reads no ~/.bashrc (rows/ssh.py)
    }
    PIPE = asyncio.subprocess.PIPE
    CHUNK = 256 * 1024

    async def copy(source: Any, target: Any, close: bool = False) -> None:
        while data := await source.read(CHUNK):
            target.write(data)
            await target.drain()
        if close:
            target.close()

    async def handle(process: Any) -> None:
        if not process.command:
            process.stderr.write(b"exec only\n")
            process.exit(1)
            return
        child = await asyncio.create_subprocess_exec(
            shell,
            "-c",
            process.command,
            stdin=PIPE,
            stdout=PIPE,
            stderr=PIPE,
            env=env,
            cwd=me.pw_dir,
        )
        # Plain copy loops with drain() (flow control both ways): asyncssh's redirect() of
        # asyncio streams fails once the channel window fills, and gives no way to wait until
        # the child's output has all been forwarded before the exit status.
        feeding = asyncio.ensure_future(copy(process.stdin, child.stdin, close=True))
        await asyncio.gather(copy(child.stdout, process.stdout), copy(child.stderr, process.stderr))
        status = await child.wait()
        feeding.cancel()
        process.exit(status)

    async def serve() -> None:
        await asyncssh.create_server(
            None,
            "127.0.0.1",
            port,
            server_host_keys=[hostKeyPath],
            authorized_client_keys=authorizedKeysPath,
            process_factory=handle,
            encoding=None,
            backlog=128,
        )
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
