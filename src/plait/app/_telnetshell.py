"""The ``plait telnet`` demo: a prompt with server-side line editing over ECHO + SGA.

Keys: printable characters insert at the cursor, left/right arrows move it, backspace/DEL
deletes before it, Enter runs the line, Ctrl-D on an empty line quits. Commands: ``help``,
``echo TEXT``, ``size`` (the NAWS window size), ``term`` (the TTYPE), ``quit``.
"""

from __future__ import annotations

from typing import Any

from plait.protocol import Protocol
from plait.wire.telnet import ECHO, NAWS, SGA, TTYPE

__all__ = ["DemoShell"]

PROMPT = b"plait> "
MAX_LINE = 1024
HELP = (
    b"commands: help, echo TEXT, size (window size), term (terminal type), quit\r\n"
    b"keys: left/right arrows, backspace, Enter; Ctrl-D on an empty line quits\r\n"
)


class DemoShell(Protocol):
    """The demo shell; runs under ``plait.protocols.telnet.TelnetTransport``."""

    def __init__(self) -> None:
        self.line = bytearray()
        self.cursor = 0
        self.size: tuple[int, int] | None = None
        self.ttype: str | None = None
        self._escape = 0  # 0 none, 1 after ESC, 2 after ESC [ or ESC O
        self._afterCR = False

    def connectionMade(self) -> None:
        telnet: Any = self.transport
        for d in (
            telnet.enableLocal(ECHO),
            telnet.enableLocal(SGA),
            telnet.enableRemote(NAWS),
            telnet.enableRemote(TTYPE),
        ):
            d.addErrback(lambda failure: None)  # a client may refuse any of them
        self._write(b"plait telnet demo; type 'help'.\r\n" + PROMPT)

    def _write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def _echo(self, data: bytes) -> None:
        telnet: Any = self.transport
        if telnet.machine.localEnabled(ECHO):
            self._write(data)

    def telnet_NAWS(self, width: int, height: int) -> None:
        """Remember the window size."""
        self.size = (width, height)

    def terminalType(self, ttype: str) -> None:
        """Remember the terminal type."""
        self.ttype = ttype

    def dataReceived(self, data: bytes) -> None:
        for b in data:
            self._key(b)
            if self.transport is None or not self.connected:
                return

    def _key(self, b: int) -> None:
        if self._afterCR:
            self._afterCR = False
            if b in (10, 0):
                return  # CR LF / CR NUL is one Enter
        if self._escape == 1:
            self._escape = 2 if b in (ord("["), ord("O")) else 0
            return
        if self._escape == 2:
            self._escape = 0
            if b == ord("D") and self.cursor > 0:
                self.cursor -= 1
                self._echo(b"\b")
            elif b == ord("C") and self.cursor < len(self.line):
                self._echo(bytes(self.line[self.cursor : self.cursor + 1]))
                self.cursor += 1
            return
        if b == 27:
            self._escape = 1
        elif b in (13, 10):
            self._afterCR = b == 13
            self._enter()
        elif b in (8, 127):
            if self.cursor > 0:
                rest = bytes(self.line[self.cursor :])
                del self.line[self.cursor - 1]
                self.cursor -= 1
                self._echo(b"\b" + rest + b" " + b"\b" * (len(rest) + 1))
        elif b == 4 and not self.line:
            self._write(b"\r\nbye\r\n")
            self.connected = 0
            assert self.transport is not None
            self.transport.loseConnection()
        elif 32 <= b < 127 and len(self.line) < MAX_LINE:
            self.line.insert(self.cursor, b)
            self.cursor += 1
            rest = bytes(self.line[self.cursor :])
            self._echo(bytes([b]) + rest + b"\b" * len(rest))

    def _enter(self) -> None:
        command = self.line.decode("ascii").strip()
        self.line.clear()
        self.cursor = 0
        self._echo(b"\r\n")
        name, _, argument = command.partition(" ")
        if name == "quit":
            self._write(b"bye\r\n")
            self.connected = 0
            assert self.transport is not None
            self.transport.loseConnection()
            return
        if name == "help":
            reply = HELP
        elif name == "echo":
            reply = argument.encode() + b"\r\n"
        elif name == "size":
            reply = (b"%dx%d\r\n" % self.size) if self.size else b"unknown (no NAWS)\r\n"
        elif name == "term":
            reply = (self.ttype or "unknown (no TTYPE)").encode() + b"\r\n"
        elif name:
            reply = f"unknown command: {name} (try help)\r\n".encode()
        else:
            reply = b""
        self._write(reply + PROMPT)
