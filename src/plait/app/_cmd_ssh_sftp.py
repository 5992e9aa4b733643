"""``plait sftp``: an SFTP client with OpenSSH's batch commands (a one-shot command).

    plait sftp [-P PORT] [-i KEY] [-o OPTION=VALUE] [-b BATCHFILE] [USER@]HOST[:DIR]

Commands are read from BATCHFILE (``-`` for stdin), else from stdin (with a ``sftp>`` prompt
on a terminal): ``ls [-l] [-a] [PATH]``, ``cd PATH``, ``pwd``, ``lcd PATH``, ``lpwd``,
``get REMOTE [LOCAL]``, ``put LOCAL [REMOTE]``, ``mkdir PATH``, ``rmdir PATH``, ``rm PATH``,
``rename OLD NEW``, ``ln -s TARGET LINK`` (``symlink``), ``chmod MODE PATH``, ``exit``/``quit``/
``bye``. As in OpenSSH's batch mode each command is echoed, and the first failing one ends the
run (exit status 1) unless it starts with ``-``. Connection options as ``plait ssh``'s.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import shlex
import sys
from typing import Any

from ._cmd_ssh import addClientArguments, clientSettings, connectWith, describeFailure

__all__ = ["runBatch", "sftpCommand"]


class _CommandError(Exception):
    """A command that failed (its message is printed)."""


class _Shell:
    """The commands, over a ``FileTransferClient``."""

    def __init__(self, sftp: Any, cwd: bytes, out: Any) -> None:
        self.sftp = sftp
        self.cwd = cwd
        self.out = out

    def remote(self, path: str) -> bytes:
        return posixpath.normpath(posixpath.join(self.cwd, os.fsencode(path)))

    async def run(self, words: list[str]) -> bool:
        """Run one command; False when it asked to quit."""
        name, args = words[0], words[1:]
        if name in ("exit", "quit", "bye"):
            return False
        method = getattr(self, "do_" + name, None)
        if method is None:
            raise _CommandError(f"Invalid command: {name}")
        await method(args)
        return True

    def _need(self, args: list[str], low: int, high: int, usage: str) -> None:
        if not low <= len(args) <= high:
            raise _CommandError(f"usage: {usage}")

    async def do_pwd(self, args: list[str]) -> None:
        self.out.write(f"Remote working directory: {os.fsdecode(self.cwd)}\n")

    async def do_lpwd(self, args: list[str]) -> None:
        self.out.write(f"Local working directory: {os.getcwd()}\n")

    async def do_cd(self, args: list[str]) -> None:
        self._need(args, 1, 1, "cd PATH")
        path = await self.sftp.realPath(self.remote(args[0]))
        attrs = await self.sftp.getAttrs(path)
        if attrs.permissions is not None and (attrs.permissions & 0o170000) != 0o040000:
            raise _CommandError(f'Can\'t change directory: "{args[0]}" is not a directory')
        self.cwd = path

    async def do_lcd(self, args: list[str]) -> None:
        self._need(args, 1, 1, "lcd PATH")
        try:
            os.chdir(os.path.expanduser(args[0]))
        except OSError as e:
            raise _CommandError(f'Couldn\'t change local directory to "{args[0]}": {e.strerror}')

    async def do_ls(self, args: list[str]) -> None:
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        paths = [a for a in args if not a.startswith("-")]
        self._need(paths, 0, 1, "ls [-l] [-a] [PATH]")
        target = self.remote(paths[0]) if paths else self.cwd
        entries = await self.sftp.listDirectory(target)
        shown = sorted(
            (e for e in entries if "a" in flags or not e.filename.startswith(b".")),
            key=lambda e: e.filename,
        )
        for entry in shown:
            line = entry.longname if "l" in flags and entry.longname else entry.filename
            self.out.write(os.fsdecode(line) + "\n")

    async def do_get(self, args: list[str]) -> None:
        self._need(args, 1, 2, "get REMOTE [LOCAL]")
        remote = self.remote(args[0])
        local = args[1] if len(args) > 1 else posixpath.basename(args[0])
        if os.path.isdir(local):
            local = os.path.join(local, posixpath.basename(args[0]))
        self.out.write(f"Fetching {os.fsdecode(remote)} to {local}\n")
        with open(local + ".plait-part", "wb") as f:
            await self.sftp.get(remote, f)
        os.replace(local + ".plait-part", local)

    async def do_put(self, args: list[str]) -> None:
        self._need(args, 1, 2, "put LOCAL [REMOTE]")
        local = os.path.expanduser(args[0])
        remote = self.remote(args[1] if len(args) > 1 else os.path.basename(local))
        try:
            attrs = await self.sftp.getAttrs(remote)
            if attrs.permissions is not None and (attrs.permissions & 0o170000) == 0o040000:
                remote = posixpath.join(remote, os.fsencode(os.path.basename(local)))
        except Exception:
            pass  # does not exist yet: the name to create
        self.out.write(f"Uploading {local} to {os.fsdecode(remote)}\n")
        try:
            f = open(local, "rb")  # noqa: SIM115 (closed below, after the await)
        except OSError as e:
            raise _CommandError(f"stat {local}: {e.strerror}")
        with f:
            await self.sftp.put(f, remote)

    async def do_mkdir(self, args: list[str]) -> None:
        self._need(args, 1, 1, "mkdir PATH")
        await self.sftp.makeDirectory(self.remote(args[0]))

    async def do_rmdir(self, args: list[str]) -> None:
        self._need(args, 1, 1, "rmdir PATH")
        await self.sftp.removeDirectory(self.remote(args[0]))

    async def do_rm(self, args: list[str]) -> None:
        self._need(args, 1, 1, "rm PATH")
        self.out.write(f"Removing {os.fsdecode(self.remote(args[0]))}\n")
        await self.sftp.removeFile(self.remote(args[0]))

    async def do_rename(self, args: list[str]) -> None:
        self._need(args, 2, 2, "rename OLD NEW")
        await self.sftp.renameFile(self.remote(args[0]), self.remote(args[1]))

    async def do_ln(self, args: list[str]) -> None:
        if args[:1] != ["-s"]:
            raise _CommandError("only symbolic links: ln -s TARGET LINK")
        await self.do_symlink(args[1:])

    async def do_symlink(self, args: list[str]) -> None:
        self._need(args, 2, 2, "symlink TARGET LINK")
        await self.sftp.makeLink(self.remote(args[1]), os.fsencode(args[0]))

    async def do_chmod(self, args: list[str]) -> None:
        from plait.wire.ssh.sftp import FileAttributes

        self._need(args, 2, 2, "chmod MODE PATH")
        try:
            mode = int(args[0], 8)
        except ValueError:
            raise _CommandError(f"bad mode {args[0]!r}")
        self.out.write(f"Changing mode on {os.fsdecode(self.remote(args[1]))}\n")
        await self.sftp.setAttrs(self.remote(args[1]), FileAttributes(permissions=mode))


async def runBatch(sftp: Any, lines: list[str], out: Any, echo: bool = True) -> int:
    """Run ``lines`` as sftp commands; 0, or 1 after the first failure not prefixed ``-``."""
    shell = _Shell(sftp, await sftp.realPath(b"."), out)
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tolerant = line.startswith("-")
        line = line.lstrip("-").strip()
        if echo:
            out.write(f"sftp> {line}\n")
        try:
            words = shlex.split(line)
        except ValueError as e:
            out.write(f"{e}\n")
            if tolerant:
                continue
            return 1
        try:
            if not await shell.run(words):
                return 0
        except Exception as e:
            message = getattr(e, "message", None) or str(e) or type(e).__name__
            sys.stderr.write(f"{words[0]}: {message}\n")
            if not tolerant:
                return 1
        finally:
            out.flush()
    return 0


class _SFTPCommand:
    name = "sftp"
    description = "an SFTP client running OpenSSH-style batch commands (get, put, ls, cd...)"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        addClientArguments(parser, "-P")
        parser.add_argument("-b", dest="batch", metavar="BATCHFILE", help="commands (- = stdin)")
        parser.add_argument("destination", metavar="[USER@]HOST[:DIR]")

    def run(self, options: argparse.Namespace) -> int:
        try:
            import cryptography  # noqa: F401
        except ImportError:
            print("plait sftp needs the ssh extra: pip install 'plait[ssh]'", file=sys.stderr)
            return 255
        destination, _, start = options.destination.partition(":")
        try:
            settings = clientSettings(options, destination)
        except ValueError as e:
            print(f"plait sftp: {e}", file=sys.stderr)
            return 255
        if options.batch is not None:
            settings.batch = True  # as OpenSSH: -b implies BatchMode
            if options.batch == "-":
                lines = sys.stdin.read().splitlines()
            else:
                try:
                    with open(options.batch) as f:
                        lines = f.read().splitlines()
                except OSError as e:
                    print(f"plait sftp: {options.batch}: {e.strerror}", file=sys.stderr)
                    return 255
        else:
            lines = _interactiveLines()
        if start:
            lines.insert(0, f"cd {shlex.quote(start)}")
        return _session(settings, lines, echo=True)


def _interactiveLines() -> list[str]:
    """Commands from stdin: all of it when piped; line by line with a prompt on a terminal.

    (Read before connecting: the reactor owns the process once the session runs.)
    """
    if not sys.stdin.isatty():
        return sys.stdin.read().splitlines()
    lines = []
    while True:
        try:
            line = input("sftp> ")
        except EOFError:
            break
        lines.append(line)
        if line.strip() in ("exit", "quit", "bye"):
            break
    return lines


def _session(settings: Any, lines: list[str], echo: bool) -> int:
    from plait.defer import ensureDeferred
    from plait.reactor import defaultReactorClass

    from ._cmd_ssh_session import logToStderr

    logToStderr(0)
    reactor = defaultReactorClass()()
    result = {"status": 255}

    async def work(client: Any) -> None:
        try:
            sftp = await client.openSFTP()
            result["status"] = await runBatch(sftp, lines, sys.stdout, echo)
        finally:
            await client.close()

    def failed(failure: Any) -> None:
        print(f"plait sftp: {describeFailure(failure)}", file=sys.stderr)

    d = connectWith(reactor, settings)
    d.addCallback(lambda client: ensureDeferred(work(client)))
    d.addErrback(failed)
    d.addBoth(lambda _: reactor.callLater(0, reactor.stop))
    reactor.run()
    return int(result["status"])


sftpCommand = _SFTPCommand()
