"""``plait ssh``'s session: our stdin/stdout/stderr joined to a remote command or shell.

Standard input and output go through ``StandardIO`` on the reactor; descriptors a poller
cannot watch (regular files, ``/dev/null``) are bridged through a pipe by a thread. With a PTY
and a local terminal, the terminal is put in raw mode (and restored), and its size follows
``SIGWINCH``.
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import threading
from typing import Any

from ._cmd_ssh import ClientSettings, connectWith, describeFailure

__all__ = ["logToStderr", "runClient"]

CHUNK = 256 * 1024


def _pollable(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)


def _copy(source: int, target: int) -> None:
    try:
        while data := os.read(source, CHUNK):
            view = memoryview(data)
            while view:
                view = view[os.write(target, view) :]
    except OSError:
        pass
    finally:
        os.close(source)
        os.close(target)


def _readablePipe(fd: int) -> int:
    """A pipe end that delivers what ``fd`` holds (a thread copies it)."""
    r, w = os.pipe()
    threading.Thread(target=_copy, args=(os.dup(fd), w), daemon=True).start()
    return r


def _writablePipe(fd: int) -> tuple[int, threading.Thread]:
    """A pipe end whose data a thread copies to ``fd``; join the thread after closing it."""
    r, w = os.pipe()
    thread = threading.Thread(target=_copy, args=(r, os.dup(fd)), daemon=True)
    thread.start()
    return w, thread


def _writeAll(fd: int, data: bytes) -> None:
    """Blocking write, even when ``fd`` shares a non-blocking file description."""
    import select

    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [], 1.0)


def _terminalSize() -> tuple[int, int]:
    try:
        size = os.get_terminal_size(0)
        return size.columns, size.lines
    except OSError:
        return 80, 24


class _Stdio:
    """Our stdin/stdout as the session's other end."""

    def __init__(self, reactor: Any, session: Any) -> None:
        self.reactor = reactor
        self.session = session
        self.threads: list[threading.Thread] = []
        self.transport: Any = None
        self._outFD: int | None = None
        self.done: Any = None  # fires when stdin/stdout are closed (output flushed)

    def start(self) -> None:
        from plait.defer import Deferred
        from plait.protocol import Protocol
        from plait.reactor import StandardIO

        session = self.session
        done: Deferred[None] = Deferred()
        self.done = done
        # Duplicates: StandardIO closes its descriptors at the end, and ours must stay open
        # (the terminal's mode is put back through fd 0 afterwards).
        stdin = os.dup(0) if _pollable(0) else _readablePipe(0)
        stdout = os.dup(1)
        if not _pollable(1):
            os.close(stdout)
            stdout, thread = _writablePipe(1)
            self._outFD = stdout
            self.threads.append(thread)

        class Bridge(Protocol):
            def dataReceived(self, data: bytes) -> None:
                session.write(data)

            def readConnectionLost(self) -> None:
                session.sendEOF()

            def connectionLost(self, reason: object = None) -> None:
                if not session.eofSent and not session.closing:
                    session.sendEOF()
                if not done.called:
                    done.callback(None)

        bridge = Bridge()
        self.transport = StandardIO(bridge, stdin, stdout, reactor=self.reactor)
        # Flow control both ways: a full channel window stops reading stdin; a slow stdout
        # stops granting window to the server.
        session.registerProducer(self.transport, True)
        self.transport.registerProducer(session, True)

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def finish(self) -> Any:
        """Close stdin/stdout once the output is written; a Deferred of that."""
        transport, self.transport = self.transport, None
        if transport is not None:
            try:
                transport.unregisterProducer()
            except Exception:
                pass
            transport.loseConnection()
        return self.done

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)


def _sessionClass() -> type:
    from plait.ssh.session import SSHClientSession

    class StdioSession(SSHClientSession):
        """Remote output to our stdout/stderr."""

        stdio: _Stdio | None = None

        def dataReceived(self, data: bytes) -> None:
            if self.stdio is not None:
                self.stdio.write(data)

        def extReceived(self, dataType: int, data: bytes) -> None:
            _writeAll(2, data)

    return StdioSession


class _RawTerminal:
    """The local terminal in raw mode while the remote shell owns it."""

    def __init__(self) -> None:
        self.saved: Any = None

    def __enter__(self) -> _RawTerminal:
        import termios
        import tty

        if os.isatty(0):
            self.saved = termios.tcgetattr(0)
            tty.setraw(0, termios.TCSANOW)  # TCSAFLUSH (the default) drops typed-ahead input
        return self

    def __exit__(self, *exc: object) -> None:
        import termios

        if self.saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, self.saved)


def runClient(
    settings: ClientSettings,
    options: argparse.Namespace,
    forwards: list[tuple[str, str, int, str, int]],
) -> int:
    """Connect, run what the options ask for, and return the exit status."""
    from plait.defer import Deferred
    from plait.reactor import defaultReactorClass

    logToStderr(options.verbose)
    reactor = defaultReactorClass()()
    result = {"status": 255}
    command = " ".join(options.command)
    interactive = not command and not options.nocommand
    wantPty = bool(options.tty) or (interactive and not options.notty and os.isatty(0))
    stdio: _Stdio | None = None
    state: dict[str, Any] = {}

    def started(client: Any) -> Any:
        state["client"] = client
        for kind, bind, port, host, hostPort in forwards:
            if kind == "L":
                client.forwardLocal(port, host, hostPort, bind)
            else:
                forwarded = client.forwardRemote(bind, port, host, hostPort)
                if port == 0:  # as OpenSSH: say which port the server chose
                    forwarded.addCallback(
                        lambda p, h=host, hp=hostPort: _info(
                            f"Allocated port {p} for remote forward to {h}:{hp}"
                        )
                    )
                forwarded.addErrback(
                    lambda f, p=port: _warn(f"remote port forwarding failed for listen port {p}")
                )
        if options.nocommand:
            return client.whenClosed()
        session = _sessionClass()()
        d: Deferred[Any] = client.openSession(session)
        if wantPty:
            columns, rows = _terminalSize()
            term = os.environ.get("TERM", "xterm").encode()
            d.addCallback(lambda s: s.requestPty(term, columns, rows))
        d.addCallback(
            lambda _: session.execCommand(command.encode()) if command else session.shell()
        )

        def running(_: object) -> Any:
            nonlocal stdio
            stdio = _Stdio(reactor, session)
            session.stdio = stdio
            stdio.start()
            if wantPty and os.isatty(0):
                state["raw"] = _RawTerminal().__enter__()

                def resized(signum: int, frame: object) -> None:
                    columns, rows = _terminalSize()
                    reactor.callFromThread(session.windowChange, columns, rows)

                signal.signal(signal.SIGWINCH, resized)
            return session.finished

        def ended(how: object) -> Any:
            if isinstance(how, int):
                result["status"] = how
            elif how is not None:
                name = getattr(how, "signalName", how)
                _warn(f"remote command killed by signal {name}")
            from plait.defer import gatherResults

            waits = [client.close()]
            if stdio is not None and stdio.done is not None:
                waits.append(stdio.finish())
            return gatherResults(waits)

        d.addCallback(running)
        d.addCallback(ended)
        return d

    def failed(failure: Any) -> None:
        if "client" not in state:
            _warn(describeFailure(failure))
        else:
            _warn(str(failure.getErrorMessage()))

    d = connectWith(reactor, settings)
    d.addCallback(started)
    d.addErrback(failed)
    d.addBoth(lambda _: reactor.callLater(0, reactor.stop))
    try:
        reactor.run()
    finally:
        raw = state.get("raw")
        if raw is not None:
            raw.__exit__()
        if stdio is not None:
            stdio.join()
    return int(result["status"])


def _info(message: str) -> None:
    _writeAll(2, f"{message}\n".encode())


def _warn(message: str) -> None:
    _writeAll(2, f"plait ssh: {message}\n".encode())


def logToStderr(verbose: int) -> None:
    """Log lines on stderr with ``-v``; otherwise only failures (bugs), since the command
    reports what went wrong itself."""
    from plait.log import formatEvent, globalLogPublisher

    def observer(event: dict[str, Any]) -> None:
        if not verbose and "log_failure" not in event:
            return
        text = formatEvent(event)
        if text:
            _writeAll(2, f"debug: {text}\r\n".encode())

    globalLogPublisher.addObserver(observer)
