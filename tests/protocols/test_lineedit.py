"""The terminal line editor: key parsing, editing, drawing (checked on an emulated screen)."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.protocols.lineedit import (
    EndOfInput,
    InputInterrupted,
    Key,
    KeyParser,
    LineEditingProtocol,
    LineEditor,
    LineEntered,
)
from plait.testing import StringTransport

ESC = "\x1b"
LEFT, RIGHT, UP, DOWN = "\x1b[D", "\x1b[C", "\x1b[A", "\x1b[B"


class Screen:
    """A small VT100/xterm screen: enough to check what the editor draws (autowrap with a
    pending wrap at the last column, CR, LF with scrolling, BS, CUU/CUD/CUF/CUB, ED, EL, CUP
    home). Unknown sequences fail the test."""

    def __init__(self, columns: int = 80, rows: int = 24) -> None:
        self.columns, self.rows = columns, rows
        self.cells = [[" "] * columns for _ in range(rows)]
        self.row = self.col = 0
        self.pendingWrap = False
        self.bells = 0

    def feed(self, data: bytes) -> None:
        """Interpret ``data`` (UTF-8)."""
        text = data.decode("utf-8")
        i = 0
        while i < len(text):
            c = text[i]
            if c == ESC:
                match = re.compile(r"\x1b\[(\d*)([ABCDJKH])").match(text, i)
                assert match is not None, f"unknown sequence {text[i : i + 8]!r}"
                self._csi(int(match.group(1) or 0), match.group(2))
                i = match.end()
                continue
            self._char(c)
            i += 1

    def _csi(self, n: int, final: str) -> None:
        self.pendingWrap = False
        step = max(n, 1)
        if final == "A":
            self.row = max(0, self.row - step)
        elif final == "B":
            self.row = min(self.rows - 1, self.row + step)
        elif final == "C":
            self.col = min(self.columns - 1, self.col + step)
        elif final == "D":
            self.col = max(0, self.col - step)
        elif final == "H":
            self.row = self.col = 0
        elif final == "K":
            self.cells[self.row][self.col :] = [" "] * (self.columns - self.col)
        elif final == "J":
            if n == 2:
                self.cells = [[" "] * self.columns for _ in range(self.rows)]
            else:
                self.cells[self.row][self.col :] = [" "] * (self.columns - self.col)
                for r in range(self.row + 1, self.rows):
                    self.cells[r] = [" "] * self.columns

    def _lineFeed(self) -> None:
        if self.row == self.rows - 1:
            self.cells.pop(0)
            self.cells.append([" "] * self.columns)
        else:
            self.row += 1

    def _char(self, c: str) -> None:
        if c == "\r":
            self.col, self.pendingWrap = 0, False
        elif c == "\n":
            self.pendingWrap = False
            self._lineFeed()
        elif c == "\b":
            self.pendingWrap = False
            self.col = max(0, self.col - 1)
        elif c == "\x07":
            self.bells += 1
        else:
            assert c >= " ", f"unexpected control {c!r}"
            if self.pendingWrap:
                self.pendingWrap = False
                self.col = 0
                self._lineFeed()
            self.cells[self.row][self.col] = c
            if self.col == self.columns - 1:
                self.pendingWrap = True
            else:
                self.col += 1

    def lines(self) -> list[str]:
        """The screen's text, trailing blanks and blank rows at the bottom removed."""
        lines = ["".join(r).rstrip() for r in self.cells]
        while lines and not lines[-1]:
            lines.pop()
        return lines


class Terminal:
    """A ``LineEditor`` wired to a ``Screen``; ``type`` sends keys, events are collected."""

    def __init__(self, width: int = 80, prompt: str = "> ", **kwargs: object) -> None:
        self.editor = LineEditor(width=width, **kwargs)  # type: ignore[arg-type]
        self.screen = Screen(width)
        self.prompt = prompt
        self.events: list[object] = []
        self.editor.showPrompt(prompt)
        self._sync()

    def _sync(self) -> None:
        self.screen.feed(self.editor.dataToSend())
        while (event := self.editor.nextEvent()) is not None:
            self.events.append(event)
            self.screen.feed(self.editor.dataToSend())
            if not isinstance(event, EndOfInput):
                self.editor.showPrompt(self.prompt)
            self.screen.feed(self.editor.dataToSend())

    def type(self, keys: str | bytes, chunk: int | None = None) -> None:
        """Send ``keys`` (in pieces of ``chunk`` bytes if given)."""
        data = keys.encode() if isinstance(keys, str) else keys
        step = chunk or len(data) or 1
        for i in range(0, len(data), step):
            self.editor.receiveData(data[i : i + step])
            self._sync()

    def cursorAt(self) -> tuple[int, int]:
        """The screen cursor (row, column)."""
        return self.screen.row, self.screen.col

    def assertConsistent(self) -> None:
        """The screen shows prompt+line from row 0 and the cursor is where the editor says."""
        text = self.prompt + self.editor.line
        width = self.screen.columns
        rows = [text[i : i + width] for i in range(0, len(text), width)] or [""]
        top = self.screen.row - self.editor._row
        shown = ["".join(self.screen.cells[top + r]).rstrip() for r in range(len(rows))]
        assert shown == [r.rstrip() for r in rows]
        offset = len(self.prompt) + self.editor.cursor
        assert (self.screen.row - top, self.screen.col) == divmod(offset, width)


# -- KeyParser ---------------------------------------------------------------------------------

SEQUENCES = [
    (b"\x1b[D", Key.LEFT),
    (b"\x1b[C", Key.RIGHT),
    (b"\x1b[A", Key.UP),
    (b"\x1b[B", Key.DOWN),
    (b"\x1b[H", Key.HOME),
    (b"\x1b[F", Key.END),
    (b"\x1bOH", Key.HOME),
    (b"\x1bOF", Key.END),
    (b"\x1bOD", Key.LEFT),
    (b"\x1bOA", Key.UP),
    (b"\x1b[1~", Key.HOME),
    (b"\x1b[7~", Key.HOME),
    (b"\x1b[4~", Key.END),
    (b"\x1b[8~", Key.END),
    (b"\x1b[3~", Key.DELETE),
    (b"\x1b[1;5D", Key.WORD_LEFT),
    (b"\x1b[1;5C", Key.WORD_RIGHT),
    (b"\x1bb", Key.WORD_LEFT),
    (b"\x1bf", Key.WORD_RIGHT),
    (b"\x1b\x7f", Key.KILL_WORD),
    (b"\x01", Key.HOME),
    (b"\x02", Key.LEFT),
    (b"\x03", Key.INTERRUPT),
    (b"\x04", Key.EOF),
    (b"\x05", Key.END),
    (b"\x06", Key.RIGHT),
    (b"\x08", Key.BACKSPACE),
    (b"\x7f", Key.BACKSPACE),
    (b"\t", Key.TAB),
    (b"\x0b", Key.KILL_END),
    (b"\x0c", Key.CLEAR),
    (b"\x0e", Key.DOWN),
    (b"\x10", Key.UP),
    (b"\x15", Key.KILL_START),
    (b"\x17", Key.KILL_WORD),
    (b"\x19", Key.YANK),
    (b"\r", Key.ENTER),
    (b"\n", Key.ENTER),
    (b"\r\n", Key.ENTER),
    (b"\r\x00", Key.ENTER),
]


@pytest.mark.parametrize(("data", "key"), SEQUENCES)
def test_parser_sequence(data: bytes, key: Key) -> None:
    """Each sequence is one key, whole and fed one byte at a time, with text around it."""
    assert KeyParser().feed(b"a" + data + b"b") == ["a", key, "b"]
    parser = KeyParser()
    tokens = [t for b in b"a" + data + b"b" for t in parser.feed(bytes([b]))]
    assert tokens == ["a", key, "b"]


def test_parser_unknown_sequences_are_dropped() -> None:
    """Unknown CSI/SS3/Alt sequences and the paste brackets vanish without a trace."""
    data = b"x\x1b[200~y\x1b[201~\x1b[5~\x1b[Z\x1bOP\x1bqz\x1b[2~"
    assert KeyParser().feed(data) == ["x", "y", "z"]


def test_parser_abandons_overlong_sequence() -> None:
    """A CSI longer than the bound is dropped without being kept; a control byte ends one."""
    parser = KeyParser()
    assert parser.feed(b"\x1b[" + b"1" * 4000 + b"Dq") == ["q"]
    assert len(parser._sequence) <= parser.maxSequence + 1
    assert parser.feed(b"\x1b[1\rz") == [Key.ENTER, "z"]


def test_parser_utf8_split_and_invalid() -> None:
    """UTF-8 is decoded across chunk boundaries; invalid bytes become U+FFFD."""
    parser = KeyParser()
    data = "é€😀".encode()
    text = "".join(t for b in data for t in parser.feed(bytes([b])) if isinstance(t, str))
    assert text == "é€😀"
    assert KeyParser().feed(b"a\xffb") == ["a\ufffdb"]


def test_parser_lone_cr_then_text() -> None:
    """CR then text is Enter then text; two CRs are two Enters; LF LF is two."""
    assert KeyParser().feed(b"\rx\r\r\n\n") == [Key.ENTER, "x", Key.ENTER, Key.ENTER, Key.ENTER]


# -- LineEditor ----------------------------------------------------------------------------------


def test_typing_echoes_exactly_and_enter_gives_line() -> None:
    """Plain typing echoes the characters as they are; Enter sends CRLF and the line."""
    editor = LineEditor()
    editor.showPrompt(">>> ")
    assert editor.dataToSend() == b">>> "
    editor.receiveData(b"1+1")
    assert editor.dataToSend() == b"1+1"
    assert editor.nextEvent() is None
    editor.receiveData(b"\r")
    assert editor.dataToSend() == b"\r\n"
    assert editor.nextEvent() == LineEntered("1+1")
    assert not editor.reading


def test_backspace_at_end_and_in_middle() -> None:
    """Backspace at the end is BS-space-BS; in the middle the rest of the line moves."""
    t = Terminal()
    t.type("abcd\x7f")
    assert t.editor.line == "abc"
    t.type(LEFT + "\x7f")
    assert t.editor.line == "ac"
    assert t.screen.lines() == ["> ac"]
    t.assertConsistent()


@pytest.mark.parametrize(
    ("keys", "line", "cursor"),
    [
        ("hello" + LEFT * 2 + "X", "helXlo", 4),
        ("hello\x01X", "Xhello", 1),
        ("hello\x1b[HX\x1b[FY", "XhelloY", 7),
        ("hello\x1b[1~X\x1b[4~Y", "XhelloY", 7),
        ("hello\x1bOHX\x1bOFY", "XhelloY", 7),
        ("hello\x01\x05X", "helloX", 6),
        ("hello\x02\x02\x06X", "hellXo", 5),
        ("hello\x01\x1b[3~", "ello", 0),
        ("hello\x01\x04", "ello", 0),
        ("hello world\x01\x1b[1;5C\x0b", "hello", 5),
        ("hello world\x02\x02\x15", "ld", 0),
        ("foo bar baz\x17", "foo bar ", 8),
        ("foo bar\x17\x01\x19 ", "bar foo ", 4),
        ("foo bar\x1bbX", "foo Xbar", 5),
        ("foo bar\x01\x1bfX", "fooX bar", 4),
        ("ab" + LEFT * 5 + "c", "cab", 1),
        ("ab" + RIGHT * 5 + "c", "abc", 3),
        ("é€" + LEFT + "x", "éx€", 2),
    ],
)
def test_editing_keys(keys: str, line: str, cursor: int) -> None:
    """Each editing key changes the line and cursor as readline does, and the screen agrees."""
    t = Terminal()
    t.type(keys)
    assert (t.editor.line, t.editor.cursor) == (line, cursor)
    t.assertConsistent()
    t2 = Terminal()
    t2.type(keys, chunk=1)
    assert (t2.editor.line, t2.screen.lines(), t2.cursorAt()) == (
        line,
        t.screen.lines(),
        t.cursorAt(),
    )


def test_history_up_down_keeps_draft() -> None:
    """Up/Down (and Ctrl-P/N) walk the history; the unfinished line comes back at the end."""
    t = Terminal()
    t.type("first\rsecond\rsecond\rdraft")
    assert t.editor.history == ["first", "second"]
    t.type(UP)
    assert t.editor.line == "second"
    t.type("\x10")
    assert t.editor.line == "first"
    t.type(UP)
    assert t.editor.line == "first"
    t.assertConsistent()
    t.type(DOWN)
    assert t.editor.line == "second"
    t.type("\x0e")
    assert t.editor.line == "draft"
    t.assertConsistent()
    t.type(UP + "!\r")
    assert t.events[-1] == LineEntered("second!")
    assert t.editor.history[-1] == "second!"


def test_history_bounded_and_skips_blank() -> None:
    """Blank lines are not remembered and the history keeps ``historySize`` lines."""
    t = Terminal(historySize=3)
    t.type("a\r  \rb\rc\rd\r")
    assert t.editor.history == ["b", "c", "d"]


def test_ctrl_c_interrupts_line() -> None:
    """Ctrl-C shows ^C, abandons the line and reports it."""
    t = Terminal()
    t.type("oops\x03")
    assert t.events == [InputInterrupted("oops")]
    assert t.screen.lines() == ["> oops^C", ">"]
    assert t.editor.line == ""


def test_ctrl_d_on_empty_line_is_end_of_input() -> None:
    """Ctrl-D on an empty line ends the input; keys after it wait."""
    t = Terminal()
    t.type("x\x7f\x04abc")
    assert t.events == [EndOfInput()]
    assert t.editor.line == ""
    assert not t.editor.reading


def test_ctrl_l_clears_screen_and_redraws() -> None:
    """Ctrl-L clears the screen and draws the prompt and line at the top."""
    t = Terminal()
    t.type("one\rtwo\rthr" + LEFT + "\x0c")
    assert t.screen.lines() == ["> thr"]
    assert t.cursorAt() == (0, 4)


def test_wrapping_long_lines() -> None:
    """Lines longer than the width wrap; editing at the start redraws every row."""
    t = Terminal(width=10)
    t.type("abcdefghijklmnopqrstuvw")
    assert t.screen.lines() == ["> abcdefgh", "ijklmnopqr", "stuvw"]
    t.assertConsistent()
    t.type("\x01XY")
    assert t.screen.lines() == ["> XYabcdef", "ghijklmnop", "qrstuvw"]
    t.assertConsistent()
    t.type("\x1b[3~" * 3)
    assert t.screen.lines() == ["> XYdefghi", "jklmnopqrs", "tuvw"]
    t.assertConsistent()
    t.type("\x05" + "\x7f" * 5)
    assert t.screen.lines() == ["> XYdefghi", "jklmnopqr"]
    t.assertConsistent()
    t.type("\x01" + RIGHT * 8)
    t.assertConsistent()
    t.type("\x0b")
    assert t.screen.lines() == ["> XYdefghi"]
    t.assertConsistent()


def test_exact_width_leaves_no_pending_wrap() -> None:
    """A line that fills a row exactly puts the cursor on the next row at column 0."""
    t = Terminal(width=10)
    t.type("12345678")
    assert t.cursorAt() == (1, 0)
    t.type("9\x7f\x7f")
    assert t.screen.lines() == ["> 1234567"]
    t.assertConsistent()


def test_resize_changes_wrapping() -> None:
    """setWidth makes later redraws use the new width."""
    t = Terminal(width=10)
    t.editor.setWidth(20)
    t.screen = Screen(20)
    t.editor.showPrompt("> ")
    t.type("abcdefghijklmnop\x01Z")
    assert t.screen.lines()[-1] == "> Zabcdefghijklmnop"
    t.assertConsistent()


def test_write_output_above_the_prompt() -> None:
    """Output while a line is edited appears above it; the prompt and line come back."""
    t = Terminal(width=10)
    t.type("abcdefghijk" + LEFT)
    t.editor.writeOutput("news\nmore")
    t.screen.feed(t.editor.dataToSend())
    assert t.screen.lines() == ["news", "more", "> abcdefgh", "ijk"]
    t.assertConsistent()


def test_write_output_when_not_reading_is_plain_crlf() -> None:
    """Output between lines is written as is, with CRLF."""
    editor = LineEditor()
    editor.writeOutput("a\nb\r\n")
    assert editor.dataToSend() == b"a\r\nb\r\n"


def test_type_ahead_waits_for_next_prompt() -> None:
    """Several lines in one chunk come out one event per prompt."""
    editor = LineEditor()
    editor.showPrompt("> ")
    editor.receiveData(b"one\rtwo\r\x03")
    assert editor.nextEvent() == LineEntered("one")
    assert editor.nextEvent() is None
    editor.showPrompt("> ")
    assert editor.nextEvent() == LineEntered("two")
    editor.showPrompt("> ")
    assert editor.nextEvent() == InputInterrupted("")


def test_line_length_bound_rings_bell() -> None:
    """Past ``maxLineLength`` characters the bell rings and nothing is inserted."""
    t = Terminal(maxLineLength=5)
    t.type("abcdefg")
    assert t.editor.line == "abcde"
    assert t.screen.bells == 1
    t.type("h")
    assert (t.editor.line, t.screen.bells) == ("abcde", 2)


def test_type_ahead_bounded() -> None:
    """Type-ahead beyond ``maxPending`` characters is cut; a huge paste is cut to fit."""
    editor = LineEditor(maxPending=10, maxLineLength=100)
    editor.showPrompt("> ")
    editor.receiveData(b"x" * 50)
    assert editor.line == "x" * 10
    editor.receiveData(b"\r" + b"abcdefgh" * 3)
    assert editor.nextEvent() == LineEntered("x" * 10)
    editor.showPrompt("> ")
    assert editor.line == "abcdefgha"


def test_no_echo_mode() -> None:
    """With echo off only prompts and output are sent; lines still arrive."""
    editor = LineEditor(echo=False)
    editor.showPrompt("> ")
    editor.receiveData(b"abc\x7fd\n")
    assert editor.dataToSend() == b"> "
    assert editor.nextEvent() == LineEntered("abd")


def test_wide_characters_count_two_columns() -> None:
    """A wide character moves the cursor two columns."""
    editor = LineEditor()
    editor.showPrompt("> ")
    editor.receiveData("日本".encode())
    editor.dataToSend()
    editor.receiveData(LEFT.encode())
    assert editor.dataToSend() == b"\x1b[2D"


SESSION = (
    "print(1)\r" + "x = 'abc'" + LEFT * 3 + "\x1b[3~Z\x01#\r" + "\x1b[A\x05!\r\n"
    "éé" + "\x1b[1;5D" + "\x0b\x7f\x7fok\r\x00" + "long" * 30 + "\x01\x1b[1~\x1bOF\x17\r"
)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64, None])
def test_every_chunking_gives_the_same_result(chunk: int | None) -> None:
    """A whole session fed in any chunk size gives the same events and screen."""
    reference = Terminal(width=20)
    reference.type(SESSION)
    t = Terminal(width=20)
    t.type(SESSION, chunk=chunk)
    assert t.events == reference.events
    assert t.screen.lines() == reference.screen.lines()
    assert [e.line for e in t.events if isinstance(e, LineEntered)] == [
        "print(1)",
        "#x = 'aZc'",
        "#x = 'aZc'!",
        "ok",
        "",
    ]


def fakeCompleter(line: str, cursor: int) -> tuple[int, list[str]] | None:
    """Completes the last word from a fixed vocabulary; None after '#'."""
    if "#" in line:
        return None
    start = line.rfind(" ", 0, cursor) + 1
    return start, ["alpha", "alphabet", "beta", "gamma", "gammon"]


@pytest.mark.parametrize(
    ("keys", "line"),
    [
        ("x = be\t", "x = beta"),
        ("x = al\t", "x = alpha"),
        ("x = ga\t", "x = gamm"),
        ("\t", "    "),
        ("ab\t" * 0 + "  \t", "    "),
        ("# al\t", "# al    "),
    ],
)
def test_tab_completion(keys: str, line: str) -> None:
    """Tab extends the word to the candidates' common prefix; indents where there is none."""
    t = Terminal(completer=fakeCompleter)
    t.type(keys)
    assert t.editor.line == line
    t.assertConsistent()


def test_tab_lists_candidates_or_rings() -> None:
    """Tab with no progress lists the candidates above the line; none rings the bell."""
    t = Terminal(completer=fakeCompleter)
    t.type("x = gamm\t")
    assert t.screen.lines() == ["gamma  gammon", "> x = gamm"]
    t.assertConsistent()
    t.type(" zz\t")
    assert t.screen.bells == 1
    assert t.editor.line == "x = gamm zz"


def test_tab_without_completer_indents() -> None:
    """Without a completer Tab indents to the next multiple of four."""
    t = Terminal()
    t.type("ab\t")
    assert t.editor.line == "ab  "


# -- LineEditingProtocol ---------------------------------------------------------------------------


class Recorder(LineEditingProtocol):
    """Records lines and prompts again."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def connectionMade(self) -> None:
        super().connectionMade()
        self.showPrompt("$ ")

    def lineReceived(self, line: str) -> None:
        self.lines.append(line)
        self.writeOutput(f"got {line}\n")
        self.showPrompt("$ ")


class SizedTransport(StringTransport):
    """A transport that knows its terminal's size, as an SSH session's does."""

    windowSize = (12, 5)


def test_protocol_lines_output_and_width() -> None:
    """The protocol echoes, dispatches lines, sizes from the transport and follows resizes."""
    proto = Recorder()
    transport = SizedTransport()
    proto.makeConnection(transport)
    assert proto.editor.width == 12
    proto.dataReceived(b"hi\rthere\r")
    assert proto.lines == ["hi", "there"]
    screen = Screen(12)
    screen.feed(transport.value())
    assert screen.lines() == ["$ hi", "got hi", "$ there", "got there", "$"]
    proto.terminalSize(40, 10)
    assert proto.editor.width == 40
    proto.telnet_NAWS(50, 10)
    assert proto.editor.width == 50


def test_protocol_interrupt_and_end_of_input() -> None:
    """Ctrl-C prompts again; Ctrl-D on an empty line loses the connection."""
    proto = Recorder()
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.dataReceived(b"abc\x03")
    assert transport.value().endswith(b"^C\r\n$ ")
    assert not transport.disconnecting
    proto.dataReceived(b"\x04")
    assert transport.disconnecting
    assert proto.lines == []


def test_protocol_read_connection_lost_enters_last_line() -> None:
    """The end of input enters a last unterminated line, then hangs up."""
    proto = Recorder()
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.dataReceived(b"one\rtwo")
    proto.readConnectionLost()
    assert proto.lines == ["one", "two"]
    assert transport.disconnecting


def test_protocol_under_telnet_transport() -> None:
    """Under TelnetTransport: NAWS sets the width, CR NUL is one Enter, output is escaped."""
    from plait.protocols.telnet import TelnetTransport

    telnet = TelnetTransport(Recorder)
    transport = StringTransport()
    telnet.makeConnection(transport)
    proto = telnet.protocol
    assert isinstance(proto, Recorder)
    telnet.dataReceived(b"\xff\xfb\x1f")  # IAC WILL NAWS
    telnet.dataReceived(b"\xff\xfa\x1f\x00\x32\x00\x14\xff\xf0")  # 50 x 20
    assert proto.editor.width == 50
    telnet.dataReceived(b"ab\x1b[Dx\r\x00")
    assert proto.lines == ["axb"]


# -- properties ------------------------------------------------------------------------------------


def _merged(tokens: list[str | Key]) -> list[str | Key]:
    out: list[str | Key] = []
    for token in tokens:
        if isinstance(token, str) and out and isinstance(out[-1], str):
            out[-1] += token
        else:
            out.append(token)
    return out


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=10))
def test_parser_chunking_never_matters(data: bytes, cuts: list[int]) -> None:
    """Any bytes, cut anywhere, give the same text and keys as fed whole."""
    whole = _merged(KeyParser().feed(data))
    parser = KeyParser()
    pieces: list[str | Key] = []
    points = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    for start, end in itertools.pairwise(points):
        pieces.extend(parser.feed(data[start:end]))
    assert _merged(pieces) == whole


KEYS = [
    "a",
    "bc",
    "é",
    " ",
    LEFT,
    RIGHT,
    "\x01",
    "\x05",
    "\x7f",
    "\x1b[3~",
    "\x0b",
    "\x15",
    "\x17",
    "\x19",
    "\x1b[1;5D",
    "\x1b[1;5C",
    UP,
    DOWN,
    "\x0c",
    "\t",
]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(5, 30),
    st.lists(st.sampled_from(KEYS), max_size=60),
    st.sampled_from(["> ", ">>> ", "", "0123456789"]),
)
def test_screen_always_matches_the_model(width: int, keys: list[str], prompt: str) -> None:
    """After any keys, at any width and prompt length, the screen shows prompt+line from its
    first row and the cursor is where the editor says (history primed with two lines)."""
    t = Terminal(width=width, prompt=prompt)
    t.type("first line here\rsecond\r")
    for key in keys:
        t.type(key)
        t.assertConsistent()
