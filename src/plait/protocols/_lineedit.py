"""A terminal line editor: raw keystrokes in, echo and finished lines out.

The peer is a terminal in raw mode (an SSH session with a PTY, a Telnet client after ECHO and
SGA): every key arrives as bytes and nothing is echoed unless the server does it. ``KeyParser``
turns those bytes into text and ``Key``s (ANSI/VT escape sequences, control keys, UTF-8 split
anywhere); ``LineEditor`` keeps the line, the cursor and the history, and produces what the
terminal must be sent to show them (sans-IO: ``receiveData``, ``nextEvent``, ``dataToSend``);
``LineEditingProtocol`` runs a ``LineEditor`` over a transport and calls ``lineReceived``.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from plait.protocol import Protocol

__all__ = [
    "EndOfInput",
    "InputInterrupted",
    "Key",
    "KeyParser",
    "LineEditingProtocol",
    "LineEditor",
    "LineEntered",
]


class Key(Enum):
    """An editing key (what a control character or escape sequence means)."""

    ENTER = "enter"
    BACKSPACE = "backspace"
    DELETE = "delete"
    LEFT = "left"
    RIGHT = "right"
    HOME = "home"
    END = "end"
    UP = "up"
    DOWN = "down"
    WORD_LEFT = "word-left"
    WORD_RIGHT = "word-right"
    KILL_END = "kill-end"
    KILL_START = "kill-start"
    KILL_WORD = "kill-word"
    YANK = "yank"
    TAB = "tab"
    INTERRUPT = "interrupt"
    EOF = "eof"
    CLEAR = "clear"


_CONTROL: dict[int, Key] = {
    0x01: Key.HOME,  # Ctrl-A
    0x02: Key.LEFT,  # Ctrl-B
    0x03: Key.INTERRUPT,  # Ctrl-C
    0x04: Key.EOF,  # Ctrl-D
    0x05: Key.END,  # Ctrl-E
    0x06: Key.RIGHT,  # Ctrl-F
    0x08: Key.BACKSPACE,  # Ctrl-H
    0x09: Key.TAB,
    0x0B: Key.KILL_END,  # Ctrl-K
    0x0C: Key.CLEAR,  # Ctrl-L
    0x0E: Key.DOWN,  # Ctrl-N
    0x10: Key.UP,  # Ctrl-P
    0x15: Key.KILL_START,  # Ctrl-U
    0x17: Key.KILL_WORD,  # Ctrl-W
    0x19: Key.YANK,  # Ctrl-Y
    0x7F: Key.BACKSPACE,  # DEL, what most terminals send for Backspace
}
_ARROWS = {ord("A"): Key.UP, ord("B"): Key.DOWN, ord("C"): Key.RIGHT, ord("D"): Key.LEFT}
_SS3 = {**_ARROWS, ord("H"): Key.HOME, ord("F"): Key.END}
_TILDE = {"1": Key.HOME, "7": Key.HOME, "4": Key.END, "8": Key.END, "3": Key.DELETE}
_META = {ord("b"): Key.WORD_LEFT, ord("f"): Key.WORD_RIGHT, 0x7F: Key.KILL_WORD}
_META[0x08] = Key.KILL_WORD
_TEXT_RUN = re.compile(rb"[^\x00-\x1f\x7f]+")

# Parser states.
_GROUND, _ESC, _CSI, _SS3_STATE = range(4)


class KeyParser:
    """Splits a raw terminal byte stream into text (``str``) and ``Key``s.

    Understands CSI (``ESC [``) and SS3 (``ESC O``) sequences for arrows, Home/End (``H``,
    ``F``, ``1~``, ``7~``, ``4~``, ``8~``) and Delete (``3~``); Ctrl/Alt-arrows (``ESC [ 1 ; 5
    D``) and ``ESC b``/``ESC f`` move by words. A CR followed by LF or NUL is one Enter.
    Unknown sequences are dropped whole, as are those longer than ``maxSequence`` bytes
    (which are not kept).
    Invalid UTF-8 becomes U+FFFD.
    """

    maxSequence = 32

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._state = _GROUND
        self._sequence = bytearray()
        self._afterCR = False

    def feed(self, data: bytes) -> list[str | Key]:
        """The text runs and keys in ``data`` (a partial sequence waits for the next call)."""
        out: list[str | Key] = []
        i, n = 0, len(data)
        while i < n:
            if self._state == _GROUND:
                match = _TEXT_RUN.match(data, i)
                if match is not None:
                    self._afterCR = False
                    text = self._decoder.decode(match.group())
                    if text:
                        out.append(text)
                    i = match.end()
                    continue
            self._byte(data[i], out)
            i += 1
        return out

    def _byte(self, b: int, out: list[str | Key]) -> None:
        state = self._state
        if state == _ESC:
            self._state = _GROUND
            if b == 0x5B:  # [
                self._state = _CSI
                self._sequence.clear()
            elif b == 0x4F:  # O
                self._state = _SS3_STATE
            elif b == 0x1B:
                self._state = _ESC  # ESC ESC: the first was a lone Escape
            elif b in _META:
                out.append(_META[b])
            return
        if state == _SS3_STATE:
            self._state = _GROUND
            if b in _SS3:
                out.append(_SS3[b])
            return
        if state == _CSI:
            if 0x20 <= b <= 0x3F:
                if len(self._sequence) <= self.maxSequence:  # an overlong one is skipped
                    self._sequence.append(b)
                return
            self._state = _GROUND
            if 0x40 <= b <= 0x7E:
                if len(self._sequence) > self.maxSequence:
                    return
                key = self._csi(self._sequence.decode("ascii"), b)
                if key is not None:
                    out.append(key)
                return
            # A control byte inside a sequence abandons it and counts on its own.
        afterCR, self._afterCR = self._afterCR, False
        if b == 0x1B:
            self._state = _ESC
        elif b == 0x0D:
            self._afterCR = True
            out.append(Key.ENTER)
        elif b == 0x0A:
            if not afterCR:
                out.append(Key.ENTER)
        elif b in _CONTROL:
            out.append(_CONTROL[b])
        elif b >= 0x20 and b != 0x7F:  # only reached for a byte after an abandoned sequence
            text = self._decoder.decode(bytes([b]))
            if text:
                out.append(text)

    @staticmethod
    def _csi(params: str, final: int) -> Key | None:
        if final in _ARROWS:
            modified = ";" in params
            if modified and final == ord("C"):
                return Key.WORD_RIGHT
            if modified and final == ord("D"):
                return Key.WORD_LEFT
            return _ARROWS[final]
        if final == ord("H"):
            return Key.HOME
        if final == ord("F"):
            return Key.END
        if final == ord("~"):
            return _TILDE.get(params.split(";", 1)[0])
        return None


@dataclass(frozen=True)
class LineEntered:
    """Enter was pressed: ``line`` is the text (without the line ending)."""

    line: str


@dataclass(frozen=True)
class InputInterrupted:
    """Ctrl-C: ``line`` is the text that was abandoned."""

    line: str


@dataclass(frozen=True)
class EndOfInput:
    """Ctrl-D on an empty line."""


Event = LineEntered | InputInterrupted | EndOfInput


def charWidth(char: str) -> int:
    """How many terminal columns ``char`` takes (0 combining, 2 wide East Asian, else 1)."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def textWidth(text: str) -> int:
    """How many terminal columns ``text`` takes."""
    if text.isascii():
        return len(text)
    return sum(charWidth(c) for c in text)


def _commonPrefix(words: list[str]) -> str:
    shortest, longest = min(words), max(words)
    for i, char in enumerate(shortest):
        if char != longest[i]:
            return shortest[:i]
    return shortest


def _isWordChar(char: str) -> bool:
    return char.isalnum() or char == "_"


class LineEditor:
    """Emacs-style editing of one line at a time, with history, for a raw-mode terminal.

    Call ``showPrompt(prompt)`` to start reading a line; feed the terminal's bytes to
    ``receiveData``; send ``dataToSend()`` to the terminal; take ``nextEvent()`` until None.
    After an event, keys that follow wait until the next ``showPrompt`` (type-ahead and pastes
    of several lines work). ``writeOutput(text)`` shows text above the line being edited.
    With ``echo=False`` (the peer edits and echoes locally, e.g. no PTY) nothing is echoed.
    ``width`` is the terminal's column count (``setWidth`` when it changes): long lines wrap.
    Bounds: ``maxLineLength`` characters per line (the bell rings beyond), ``historySize``
    lines, ``maxPending`` keys of type-ahead (more are dropped; a paste is cut to fit).

    Tab indents to the next multiple of 4 at the start of a line or without a ``completer``;
    else ``completer(line, cursor) -> (start, candidates) | None`` says where the word being
    completed starts and what it could become (None: indent): the word is extended to the
    candidates' common prefix, or they are listed above the prompt (at most ``maxCandidates``).
    """

    maxCandidates = 100
    completer: Callable[[str, int], tuple[int, list[str]] | None] | None = None

    def __init__(
        self,
        *,
        width: int = 80,
        echo: bool = True,
        historySize: int = 1000,
        maxLineLength: int = 16384,
        maxPending: int = 65536,
        completer: Callable[[str, int], tuple[int, list[str]] | None] | None = None,
    ) -> None:
        self.completer = completer
        self.width = max(1, width)
        self.echo = echo
        self.historySize = historySize
        self.maxLineLength = maxLineLength
        self.maxPending = maxPending
        self.prompt = ""
        self.reading = False
        self.history: list[str] = []
        self._parser = KeyParser()
        self._chars: list[str] = []
        self._cursor = 0
        self._row = 0  # the terminal cursor's row, counted from the prompt's first row
        self._historyIndex = 0
        self._draft = ""
        self._killed = ""
        self._pending: deque[str | Key] = deque()
        self._pendingSize = 0
        self._events: deque[Event] = deque()
        self._out: list[str] = []

    # -- the public state ----------------------------------------------------------------

    @property
    def line(self) -> str:
        """The text being edited."""
        return "".join(self._chars)

    @property
    def cursor(self) -> int:
        """The cursor's index in ``line``."""
        return self._cursor

    # -- sans-IO interface -----------------------------------------------------------------

    def receiveData(self, data: bytes) -> None:
        """Keystrokes from the terminal."""
        for token in self._parser.feed(data):
            size = len(token) if isinstance(token, str) else 1
            room = self.maxPending - self._pendingSize
            if size > room:
                if not isinstance(token, str) or room <= 0:
                    continue
                token, size = token[:room], room
            self._pending.append(token)
            self._pendingSize += size
        self._process()

    def nextEvent(self) -> Event | None:
        """The next ``LineEntered``/``InputInterrupted``/``EndOfInput``, or None."""
        return self._events.popleft() if self._events else None

    def dataToSend(self) -> bytes:
        """What the terminal must be sent now (UTF-8, CRLF line endings)."""
        data = "".join(self._out).encode("utf-8")
        self._out.clear()
        return data

    def showPrompt(self, prompt: str) -> None:
        """Write ``prompt`` and start reading a line (type-ahead is then processed)."""
        self.prompt = prompt
        self.reading = True
        self._row = 0
        self._out.append(prompt)
        if self._chars:
            self._refresh(fromStart=True)
        elif self.echo:
            total = textWidth(prompt)
            if total and total % self.width == 0:
                self._out.append("\r\n")
            self._row = total // self.width
        self._process()

    def setWidth(self, columns: int) -> None:
        """The terminal now has ``columns`` columns."""
        self.width = max(1, columns)
        if self.reading and self.echo:
            # The terminal re-flowed what we drew; assume the cursor is where our model says.
            self._row = self._columns(self._cursor) // self.width

    def writeOutput(self, text: str) -> None:
        """Show ``text`` (``\\n`` line endings are sent as CRLF when echoing, as a raw-mode
        terminal needs; as they are without echo); while a line is being read it appears above
        the prompt, which is then drawn again with the line."""
        if self.echo:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        if not self.reading or not self.echo:
            self._out.append(text)
            return
        self._out.append(f"\x1b[{self._row}A\r\x1b[J" if self._row else "\r\x1b[J")
        self._out.append(text)
        if not text.endswith("\n"):
            self._out.append("\r\n")
        self._row = 0
        self._out.append(self.prompt)
        self._refresh(fromStart=True)

    # -- key handling ------------------------------------------------------------------------

    def _process(self) -> None:
        while self.reading and self._pending:
            token = self._pending.popleft()
            if isinstance(token, str):
                self._pendingSize -= len(token)
                self._insert(token)
            else:
                self._pendingSize -= 1
                self._key(token)

    def _key(self, key: Key) -> None:
        chars, cursor = self._chars, self._cursor
        if key is Key.ENTER:
            self._finish(LineEntered(self.line), "\r\n")
            self._remember(self.line)
            self._reset()
        elif key is Key.INTERRUPT:
            self._finish(InputInterrupted(self.line), "^C\r\n")
            self._reset()
        elif key is Key.EOF:
            if chars:
                self._delete(cursor, cursor + 1)
            else:
                self._finish(EndOfInput(), "")
                self._reset()
        elif key is Key.BACKSPACE:
            if cursor > 0:
                self._delete(cursor - 1, cursor)
        elif key is Key.DELETE:
            self._delete(cursor, cursor + 1)
        elif key is Key.LEFT:
            self._moveTo(cursor - 1)
        elif key is Key.RIGHT:
            self._moveTo(cursor + 1)
        elif key is Key.HOME:
            self._moveTo(0)
        elif key is Key.END:
            self._moveTo(len(chars))
        elif key is Key.WORD_LEFT:
            self._moveTo(self._wordStart(cursor))
        elif key is Key.WORD_RIGHT:
            self._moveTo(self._wordEnd(cursor))
        elif key is Key.KILL_END:
            self._kill(cursor, len(chars))
        elif key is Key.KILL_START:
            self._kill(0, cursor)
        elif key is Key.KILL_WORD:
            start = cursor
            while start > 0 and chars[start - 1].isspace():
                start -= 1
            while start > 0 and not chars[start - 1].isspace():
                start -= 1
            self._kill(start, cursor)
        elif key is Key.YANK:
            self._insert(self._killed)
        elif key is Key.TAB:
            self._complete()
        elif key is Key.UP:
            if self._historyIndex > 0:
                if self._historyIndex == len(self.history):
                    self._draft = self.line
                self._historyIndex -= 1
                self._replace(self.history[self._historyIndex])
        elif key is Key.DOWN:
            if self._historyIndex < len(self.history):
                self._historyIndex += 1
                last = self._historyIndex == len(self.history)
                self._replace(self._draft if last else self.history[self._historyIndex])
        elif key is Key.CLEAR and self.echo:
            self._out.append("\x1b[H\x1b[2J" + self.prompt)
            self._row = 0
            self._refresh(fromStart=True)

    def _complete(self) -> None:
        """Tab: indent at the start of a line; else extend the word before the cursor to the
        completer's candidates' common prefix, listing them when that adds nothing."""
        before = self.line[: self._cursor]
        found = None
        if self.completer is not None and before.strip():
            found = self.completer(self.line, self._cursor)
        if found is None:
            self._insert(" " * (4 - self._cursor % 4))
            return
        start, candidates = found
        word = before[start:]
        candidates = [c for c in dict.fromkeys(candidates) if c.startswith(word)]
        if not candidates:
            if self.echo:
                self._out.append("\x07")
            return
        prefix = _commonPrefix(candidates)
        if len(prefix) > len(word):
            self._insert(prefix[len(word) :])
        elif len(candidates) > 1:
            shown = candidates[: self.maxCandidates]
            more = len(candidates) - len(shown)
            self.writeOutput("  ".join(shown) + (f"  (+{more} more)" if more else ""))

    def _finish(self, event: Event, echo: str) -> None:
        self._moveTo(len(self._chars))
        if self.echo:
            self._out.append(echo)
        self.reading = False
        self._row = 0
        self._events.append(event)

    def _reset(self) -> None:
        self._chars = []
        self._cursor = 0
        self._historyIndex = len(self.history)
        self._draft = ""

    def _remember(self, line: str) -> None:
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history.append(line)
            if len(self.history) > self.historySize:
                del self.history[: len(self.history) - self.historySize]

    def _wordStart(self, index: int) -> int:
        chars = self._chars
        while index > 0 and not _isWordChar(chars[index - 1]):
            index -= 1
        while index > 0 and _isWordChar(chars[index - 1]):
            index -= 1
        return index

    def _wordEnd(self, index: int) -> int:
        chars, n = self._chars, len(self._chars)
        while index < n and not _isWordChar(chars[index]):
            index += 1
        while index < n and _isWordChar(chars[index]):
            index += 1
        return index

    # -- editing and drawing ---------------------------------------------------------------

    def _columns(self, index: int) -> int:
        """The screen offset of text index ``index`` from the prompt's start."""
        return textWidth(self.prompt) + textWidth("".join(self._chars[:index]))

    def _insert(self, text: str) -> None:
        room = self.maxLineLength - len(self._chars)
        if len(text) > room:
            text = text[: max(room, 0)]
            if self.echo:
                self._out.append("\x07")
        if not text:
            return
        atEnd = self._cursor == len(self._chars)
        self._chars[self._cursor : self._cursor] = list(text)
        self._cursor += len(text)
        if not self.echo:
            return
        if atEnd:
            # Appending: the terminal's own wrapping does the work.
            self._out.append(text)
            total = self._columns(self._cursor)
            if total % self.width == 0:
                self._out.append("\r\n")  # leave no pending wrap: the model stays exact
            self._row = total // self.width
        else:
            self._refresh()

    def _delete(self, start: int, end: int) -> None:
        end = min(end, len(self._chars))
        if start >= end:
            return
        atEnd = end == len(self._chars) and self._cursor == end
        deleted = "".join(self._chars[start:end])
        column = self._columns(self._cursor) % self.width
        del self._chars[start:end]
        if self._cursor > start:
            self._cursor = max(start, self._cursor - (end - start))
        if not self.echo:
            return
        width = textWidth(deleted)
        if atEnd and 0 < width <= column:
            self._out.append("\b" * width + " " * width + "\b" * width)
        else:
            self._refresh()

    def _kill(self, start: int, end: int) -> None:
        if start < end:
            self._killed = "".join(self._chars[start:end])
            self._delete(start, end)

    def _replace(self, text: str) -> None:
        self._chars = list(text[: self.maxLineLength])
        self._cursor = len(self._chars)
        if self.echo:
            self._refresh()

    def _moveTo(self, index: int) -> None:
        index = max(0, min(index, len(self._chars)))
        if index == self._cursor:
            return
        old = self._columns(self._cursor)
        self._cursor = index
        if self.echo:
            self._moveCursor(old, self._columns(index))

    def _moveCursor(self, old: int, new: int) -> None:
        width = self.width
        oldRow, oldCol = divmod(old, width)
        newRow, newCol = divmod(new, width)
        out = self._out
        if oldRow == newRow:
            if newCol < oldCol:
                out.append("\b" if oldCol - newCol == 1 else f"\x1b[{oldCol - newCol}D")
            elif newCol > oldCol:
                out.append(f"\x1b[{newCol - oldCol}C")
        else:
            out.append(
                f"\x1b[{newRow - oldRow}B" if newRow > oldRow else f"\x1b[{oldRow - newRow}A"
            )
            out.append(f"\r\x1b[{newCol}C" if newCol else "\r")
        self._row = newRow

    def _refresh(self, fromStart: bool = False) -> None:
        """Redraw the line after the prompt and put the cursor back; ``fromStart`` when the
        terminal's cursor is just after a freshly written prompt."""
        out, width = self._out, self.width
        promptWidth = textWidth(self.prompt)
        if not fromStart:
            out.append(f"\x1b[{self._row}A\r" if self._row else "\r")
            out.append(self.prompt)
        out.append("".join(self._chars))
        total = promptWidth + textWidth("".join(self._chars))
        if total and total % width == 0:
            out.append("\r\n")
        out.append("\x1b[J")
        self._row = total // width
        self._moveCursor(total, self._columns(self._cursor))


class LineEditingProtocol(Protocol):
    """A Protocol that edits lines on a raw-mode terminal and gets them in ``lineReceived``.

    Subclasses call ``showPrompt(prompt)`` to read a line (first in ``connectionMade``), and
    ``writeOutput(text)`` to show text. Events: ``lineReceived(line)``,
    ``interruptReceived(line)`` (Ctrl-C; shows the prompt again by default) and
    ``endOfInputReceived()`` (Ctrl-D on an empty line; loses the connection by default).
    The terminal's width comes from the transport's ``windowSize`` (``(columns, rows)``, as an
    SSH session transport has) and then from ``terminalSize(columns, rows)`` (an SSH
    ``window-change``) or ``telnet_NAWS(width, height)``. ``echo = False`` for a peer that
    echoes itself.
    """

    echo = True
    editor: LineEditor

    def connectionMade(self) -> None:
        """Make the editor, sized as the transport's terminal."""
        size = getattr(self.transport, "windowSize", None)
        width = size[0] if size and size[0] > 0 else 80
        self.editor = LineEditor(width=width, echo=self.echo, completer=self.completeLine)

    def dataReceived(self, data: bytes) -> None:
        """Keystrokes: edit, echo, and dispatch finished lines."""
        self.editor.receiveData(data)
        self._pump()

    def _pump(self) -> None:
        editor = self.editor
        while True:
            self._flush()
            event = editor.nextEvent()
            if event is None or not self.connected:
                return
            if isinstance(event, LineEntered):
                self.lineReceived(event.line)
            elif isinstance(event, InputInterrupted):
                self.interruptReceived(event.line)
            else:
                self.endOfInputReceived()

    def _flush(self) -> None:
        data = self.editor.dataToSend()
        if data and self.transport is not None:
            self.transport.write(data)

    def showPrompt(self, prompt: str) -> None:
        """Show ``prompt`` and read a line."""
        self.editor.showPrompt(prompt)
        self._flush()

    def writeOutput(self, text: str) -> None:
        """Show ``text`` (above the line being edited, if one is)."""
        self.editor.writeOutput(text)
        self._flush()

    def readConnectionLost(self) -> None:
        """The peer sends no more (an SSH EOF, a half-close): a last line without its line
        ending is entered, then the input ends (``endOfInputReceived``)."""
        if self.editor.line:
            self.editor.receiveData(b"\r")
            self._pump()
        if self.connected:
            self.endOfInputReceived()

    def terminalSize(self, columns: int, rows: int) -> None:
        """The terminal was resized."""
        if columns > 0:
            self.editor.setWidth(columns)

    def telnet_NAWS(self, width: int, height: int) -> None:
        """Telnet's window size (under ``plait.protocols.telnet.TelnetTransport``)."""
        self.terminalSize(width, height)

    def completeLine(self, line: str, cursor: int) -> tuple[int, list[str]] | None:
        """Tab completion: ``(start of the word, candidates)``, or None for Tab to indent
        (the default)."""
        return None

    def lineReceived(self, line: str) -> None:
        """A line was entered; override."""
        raise NotImplementedError

    def interruptReceived(self, line: str) -> None:
        """Ctrl-C abandoned ``line``: prompt again."""
        self.showPrompt(self.editor.prompt)

    def endOfInputReceived(self) -> None:
        """Ctrl-D on an empty line: hang up."""
        transport: Any = self.transport
        if transport is not None:
            transport.loseConnection()
