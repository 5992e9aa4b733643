"""The ``plait telnet`` demo: a prompt with server-side line editing over ECHO + SGA.

The editing is ``plait.protocols.lineedit``'s (arrows, Home/End, Emacs keys, history); Enter
runs the line, Ctrl-C abandons it, Ctrl-D on an empty line quits. Commands: ``help``, ``echo
TEXT``, ``size`` (the NAWS window size), ``term`` (the TTYPE), ``quit``.
"""

from __future__ import annotations

from typing import Any

from plait.protocols.lineedit import LineEditingProtocol
from plait.wire.telnet import ECHO, NAWS, SGA, TTYPE

__all__ = ["DemoShell"]

PROMPT = "plait> "
MAX_LINE = 1024
HELP = (
    "commands: help, echo TEXT, size (window size), term (terminal type), quit\r\n"
    "keys: arrows, Home/End, backspace, Ctrl-A/E/K/U/W, up/down for history, Enter;"
    " Ctrl-D on an empty line quits\r\n"
)


class DemoShell(LineEditingProtocol):
    """The demo shell; runs under ``plait.protocols.telnet.TelnetTransport``.

    It echoes (and redraws) only while the client has agreed to our ECHO; a client that
    refused it edits lines itself and sends them whole. Replies end in CRLF either way.
    """

    def __init__(self) -> None:
        self.size: tuple[int, int] | None = None
        self.ttype: str | None = None

    def connectionMade(self) -> None:
        """Ask for ECHO, SGA, NAWS and TTYPE, greet and prompt."""
        super().connectionMade()
        self.editor.maxLineLength = MAX_LINE
        telnet: Any = self.transport
        for d in (
            telnet.enableLocal(ECHO),
            telnet.enableLocal(SGA),
            telnet.enableRemote(NAWS),
            telnet.enableRemote(TTYPE),
        ):
            d.addErrback(lambda failure: None)  # a client may refuse any of them
        self._followEcho()
        self.writeOutput("plait telnet demo; type 'help'.\r\n")
        self.showPrompt(PROMPT)

    def _followEcho(self) -> None:
        telnet: Any = self.transport
        self.editor.echo = telnet.machine.localEnabled(ECHO)

    def dataReceived(self, data: bytes) -> None:
        """Keystrokes (echoed only while our ECHO is on)."""
        self._followEcho()
        super().dataReceived(data)

    def telnet_NAWS(self, width: int, height: int) -> None:
        """Remember the window size (and edit at that width)."""
        self.size = (width, height)
        super().telnet_NAWS(width, height)

    def terminalType(self, ttype: str) -> None:
        """Remember the terminal type."""
        self.ttype = ttype

    def endOfInputReceived(self) -> None:
        """Ctrl-D on an empty line: say bye and hang up."""
        self.writeOutput("\r\nbye\r\n")
        super().endOfInputReceived()

    def lineReceived(self, line: str) -> None:
        """Run one command and prompt again (``quit`` hangs up)."""
        name, _, argument = line.strip().partition(" ")
        if name == "quit":
            self.writeOutput("bye\r\n")
            super().endOfInputReceived()
            return
        if name == "help":
            reply = HELP
        elif name == "echo":
            reply = argument + "\r\n"
        elif name == "size":
            reply = f"{self.size[0]}x{self.size[1]}\r\n" if self.size else "unknown (no NAWS)\r\n"
        elif name == "term":
            reply = (self.ttype or "unknown (no TTYPE)") + "\r\n"
        elif name:
            reply = f"unknown command: {name} (try help)\r\n"
        else:
            reply = ""
        if reply:
            self.writeOutput(reply)
        self.showPrompt(PROMPT)
