"""plait.protocols.framing: LineReceiver and friends over StringTransport, in every chunking."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plait.log import LogLevel, globalLogPublisher
from plait.protocols import (
    Int8StringReceiver,
    Int16StringReceiver,
    Int32StringReceiver,
    IntNStringReceiver,
    LineOnlyReceiver,
    LineReceiver,
    NetstringReceiver,
    framing,
)
from plait.testing import StringTransport
from plait.wire import LocalProtocolError


class Lines(LineReceiver):
    """Records lines and raw data; ``raw N`` lines switch to raw mode for N bytes."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []
        self.rawLeft = 0
        self.exceeded: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.events.append(("line", line))
        if line.startswith(b"raw "):
            self.rawLeft = int(line[4:])
            if self.rawLeft:
                self.setRawMode()
        elif line == b"quit":
            assert self.transport is not None
            self.transport.loseConnection()

    def rawDataReceived(self, data: bytes) -> None:
        body, extra = data[: self.rawLeft], data[self.rawLeft :]
        self.rawLeft -= len(body)
        if self.events and self.events[-1][0] == "raw":
            self.events[-1] = ("raw", self.events[-1][1] + body)
        else:
            self.events.append(("raw", body))
        if not self.rawLeft:
            self.setLineMode(extra)

    def lineLengthExceeded(self, line: bytes) -> Any:
        self.exceeded.append(line)
        return super().lineLengthExceeded(line)


def connected(proto: Any) -> StringTransport:
    """Connect ``proto`` to a fresh StringTransport."""
    transport = StringTransport()
    proto.makeConnection(transport)
    return transport


def feed(proto: Any, data: bytes, size: int) -> None:
    """Deliver ``data`` to ``proto`` in ``size``-byte chunks."""
    for i in range(0, len(data), size):
        proto.dataReceived(data[i : i + size])


STREAM = b"GET / HTTP/1.0\r\nraw 5\r\nhello\r\nraw 0\r\n\r\nraw 3\r\nabcnext\r\nlast\r\n"
EXPECTED = [
    ("line", b"GET / HTTP/1.0"),
    ("line", b"raw 5"),
    ("raw", b"hello"),
    ("line", b""),
    ("line", b"raw 0"),
    ("line", b""),
    ("line", b"raw 3"),
    ("raw", b"abc"),
    ("line", b"next"),
    ("line", b"last"),
]


@pytest.mark.parametrize("size", range(1, len(STREAM) + 1))
def test_every_chunk_size_gives_the_same_events(size: int) -> None:
    """Lines, raw bodies and back-to-line-mode extras, in every chunk size down to 1 byte."""
    p = Lines()
    connected(p)
    feed(p, STREAM, size)
    assert p.events == EXPECTED


@given(st.lists(st.integers(0, len(STREAM)), max_size=20))
def test_random_splits_give_the_same_events(cuts: list[int]) -> None:
    """Any random split of the stream gives the same events as one chunk."""
    p = Lines()
    connected(p)
    last = 0
    for cut in sorted(cuts):
        p.dataReceived(STREAM[last:cut])
        last = cut
    p.dataReceived(STREAM[last:])
    assert p.events == EXPECTED


def test_line_mode_attribute() -> None:
    """line_mode is 1 in line mode and 0 in raw mode."""
    p = Lines()
    connected(p)
    assert p.line_mode == 1
    p.setRawMode()
    assert p.line_mode == 0


def test_send_line_appends_the_delimiter() -> None:
    """sendLine writes the line and the delimiter."""
    p = Lines()
    t = connected(p)
    p.sendLine(b"hi")
    p.delimiter = b"\n"
    p.sendLine(b"there")
    assert t.value() == b"hi\r\nthere\n"


def test_delimiter_change_applies() -> None:
    """A protocol with another delimiter splits on it."""
    p = Lines()
    p.delimiter = b"\n"
    connected(p)
    p.dataReceived(b"a\nb\r\n")
    assert p.events == [("line", b"a"), ("line", b"b\r")]


def test_lose_connection_in_line_received_stops_delivery() -> None:
    """After transport.loseConnection() in lineReceived no further line is delivered."""
    p = Lines()
    t = connected(p)
    p.dataReceived(b"one\r\nquit\r\ntwo\r\nthree\r\n")
    assert p.events == [("line", b"one"), ("line", b"quit")]
    assert t.disconnecting


def test_line_too_long_loses_the_connection_and_logs() -> None:
    """A complete line over MAX_LENGTH calls lineLengthExceeded: logged, connection lost."""
    logged: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(logged.append)
    try:
        p = Lines()
        p.MAX_LENGTH = 4
        t = connected(p)
        p.dataReceived(b"ok\r\ntoolong\r\nnever\r\n")
    finally:
        globalLogPublisher.removeObserver(logged.append)
    assert p.events == [("line", b"ok")]
    assert p.exceeded == [b"toolong\r\nnever\r\n"]
    assert t.disconnecting
    assert any(e["log_level"] == LogLevel.warn and "MAX_LENGTH" in e["log_format"] for e in logged)


def test_partial_line_too_long() -> None:
    """A partial line that can no longer fit MAX_LENGTH is exceeded before its delimiter."""
    p = Lines()
    p.MAX_LENGTH = 4
    t = connected(p)
    p.dataReceived(b"abcd\r")
    assert not t.disconnecting
    p.dataReceived(b"e")
    assert p.exceeded == [b"abcd\re"]
    assert t.disconnecting


def test_raw_then_line_mode_in_raw_callback_with_extra() -> None:
    """setLineMode(extra) from rawDataReceived parses extra as lines, in order."""
    p = Lines()
    connected(p)
    p.dataReceived(b"raw 2\r\nxyfirst\r\nsecond\r\n")
    assert p.events == [
        ("line", b"raw 2"),
        ("raw", b"xy"),
        ("line", b"first"),
        ("line", b"second"),
    ]


def test_clear_line_buffer_returns_the_buffered_data() -> None:
    """clearLineBuffer hands back (and drops) the undelivered bytes."""
    p = Lines()
    connected(p)
    p.dataReceived(b"done\r\npartial")
    assert p.clearLineBuffer() == b"partial"
    p.dataReceived(b"\r\n")
    assert p.events == [("line", b"done"), ("line", b"")]


def test_paused_receiver_buffers_until_resumed() -> None:
    """A paused LineReceiver delivers nothing; resumeProducing delivers the backlog."""
    p = Lines()
    t = connected(p)
    p.pauseProducing()
    assert t.producerState == "paused"
    p.dataReceived(b"a\r\nb\r\n")
    assert p.events == []
    p.resumeProducing()
    assert t.producerState == "producing"  # type: ignore[comparison-overlap]
    assert p.events == [("line", b"a"), ("line", b"b")]  # type: ignore[unreachable]


def test_pause_inside_line_received_stops_after_that_line() -> None:
    """pauseProducing in lineReceived holds the following lines back."""

    class Pauser(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            if line == b"stop":
                self.pauseProducing()

    p = Pauser()
    connected(p)
    p.dataReceived(b"stop\r\nlater\r\n")
    assert p.events == [("line", b"stop")]
    p.resumeProducing()
    assert p.events == [("line", b"stop"), ("line", b"later")]


def test_stop_producing() -> None:
    """stopProducing stops delivery and the transport."""
    p = Lines()
    t = connected(p)
    p.stopProducing()
    p.dataReceived(b"x\r\n")
    assert p.events == []
    assert t.producerState == "stopped"


def test_unimplemented_hooks_raise() -> None:
    """The base class's lineReceived/rawDataReceived must be overridden."""
    p = LineReceiver()
    connected(p)
    with pytest.raises(NotImplementedError):
        p.dataReceived(b"x\r\n")
    q = LineReceiver()
    connected(q)
    q.setRawMode()
    with pytest.raises(NotImplementedError):
        q.dataReceived(b"x")


def test_public_module_is_the_same() -> None:
    """plait.protocols.framing exports the same classes as plait.protocols."""
    assert framing.LineReceiver is LineReceiver
    assert framing.Int32StringReceiver is Int32StringReceiver


# -- LineOnlyReceiver -----------------------------------------------------------------------


class OnlyLines(LineOnlyReceiver):
    """Records lines; b'quit' loses the connection."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)
        if line == b"quit":
            assert self.transport is not None
            self.transport.loseConnection()


@given(st.binary(max_size=200), st.integers(1, 50))
def test_line_only_receiver_any_chunking(data: bytes, size: int) -> None:
    """LineOnlyReceiver gives the lines of bytes.split, in any chunk size."""
    data = data.replace(b"quit", b"QUIT")
    p = OnlyLines()
    p.MAX_LENGTH = 1000
    connected(p)
    feed(p, data, size)
    assert p.lines == data.split(b"\r\n")[:-1]


def test_line_only_receiver_lose_connection_and_too_long() -> None:
    """loseConnection stops delivery; a too-long line loses the connection."""
    p = OnlyLines()
    t = connected(p)
    p.dataReceived(b"a\r\nquit\r\nb\r\n")
    assert p.lines == [b"a", b"quit"] and t.disconnecting
    q = OnlyLines()
    q.MAX_LENGTH = 3
    u = connected(q)
    q.dataReceived(b"abc\r\nabcd\r\nx\r\n")
    assert q.lines == [b"abc"] and u.disconnecting
    q.sendLine(b"z")
    assert u.value() == b"z\r\n"


# -- netstrings -----------------------------------------------------------------------------


class Strings(NetstringReceiver):
    """Records strings."""

    def __init__(self) -> None:
        self.strings: list[bytes] = []

    def stringReceived(self, string: bytes) -> None:
        self.strings.append(string)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
def test_netstring_receiver(size: int) -> None:
    """Netstrings arrive whole in any chunking; sendString frames them."""
    p = Strings()
    t = connected(p)
    feed(p, b"5:hello,0:,3:abc,", size)
    assert p.strings == [b"hello", b"", b"abc"]
    p.sendString(b"hey")
    assert t.value() == b"3:hey,"


@pytest.mark.parametrize("bad", [b"x:", b"5:hello!", b"100001:", b"007:"])
def test_netstring_parse_error_loses_the_connection_with_a_logged_error(bad: bytes) -> None:
    """Bad framing is logged as an error and loses the connection; later data is ignored."""
    logged: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(logged.append)
    try:
        p = Strings()
        t = connected(p)
        p.dataReceived(b"1:a," + bad)
        p.dataReceived(b"1:b,")
    finally:
        globalLogPublisher.removeObserver(logged.append)
    assert p.strings == [b"a"]
    assert t.disconnecting and p.brokenPeer
    assert any(e["log_level"] == LogLevel.error and "netstring" in e["log_format"] for e in logged)


# -- length prefixes ------------------------------------------------------------------------


class Int16(Int16StringReceiver):
    """Records strings."""

    def __init__(self) -> None:
        self.strings: list[bytes] = []
        self.exceeded: list[int] = []

    def stringReceived(self, string: bytes) -> None:
        self.strings.append(string)

    def lengthLimitExceeded(self, length: int) -> Any:
        self.exceeded.append(length)
        return super().lengthLimitExceeded(length)


@pytest.mark.parametrize(
    ("cls", "prefix"), [(Int8StringReceiver, 1), (Int16StringReceiver, 2), (Int32StringReceiver, 4)]
)
def test_send_string_prefixes(cls: type[IntNStringReceiver], prefix: int) -> None:
    """sendString writes a big-endian length of the class's size."""
    p = cls()
    t = connected(p)
    p.sendString(b"abc")
    assert t.value() == (3).to_bytes(prefix, "big") + b"abc"


def test_send_string_too_long_raises() -> None:
    """A string too long for the prefix raises LocalProtocolError and writes nothing."""
    p = Int8StringReceiver()
    t = connected(p)
    with pytest.raises(LocalProtocolError):
        p.sendString(b"x" * 256)
    assert t.value() == b""


@pytest.mark.parametrize("size", [1, 2, 5, 64])
def test_int16_strings_any_chunking(size: int) -> None:
    """Strings arrive whole in any chunking."""
    p = Int16()
    connected(p)
    feed(p, b"\x00\x02hi\x00\x00\x00\x05there", size)
    assert p.strings == [b"hi", b"", b"there"]


def test_length_limit_exceeded() -> None:
    """A prefix over MAX_LENGTH calls lengthLimitExceeded, which loses the connection."""
    p = Int16()
    p.MAX_LENGTH = 4
    t = connected(p)
    p.dataReceived(b"\x00\x01a\x00\x05hello\x00\x01b")
    p.dataReceived(b"\x00\x01c")
    assert p.strings == [b"a"]
    assert p.exceeded == [5]
    assert t.disconnecting


def test_int_receiver_pauses() -> None:
    """A paused string receiver buffers until resumed."""
    p = Int16()
    connected(p)
    p.pauseProducing()
    p.dataReceived(b"\x00\x01a")
    assert p.strings == []
    p.resumeProducing()
    assert p.strings == [b"a"]


# -- linearity ------------------------------------------------------------------------------


class Counter(LineReceiver):
    """Counts lines."""

    count = 0

    def lineReceived(self, line: bytes) -> None:
        self.count += 1


def _timeLines(n: int, runs: int) -> list[float]:
    data = b"0123456789\r\n" * n
    times = []
    for _ in range(runs):
        p = Counter()
        connected(p)
        start = time.perf_counter()
        p.dataReceived(data)
        times.append(time.perf_counter() - start)
        assert p.count == n
    return sorted(times)


def test_one_big_chunk_is_linear() -> None:
    """1M short lines in one chunk take roughly 10x the time of 100k (< 15x), not 100x."""
    small = _timeLines(100_000, 5)[2]  # the median: a lucky minimum would flatter the small run
    big = _timeLines(1_000_000, 2)[0]
    assert big / small < 15, (small, big)


def test_clear_line_buffer_inside_line_received_returns_the_rest() -> None:
    """clearLineBuffer from lineReceived returns exactly what follows the current line."""

    class Clearer(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            if line == b"clear":
                self.cleared = self.clearLineBuffer()

    p = Clearer()
    connected(p)
    p.dataReceived(b"a\r\nclear\r\nb\r\nc\r\npartial")
    assert p.events == [("line", b"a"), ("line", b"clear")]
    assert p.cleared == b"b\r\nc\r\npartial"


def test_exception_in_line_received_keeps_the_rest_buffered() -> None:
    """An exception from lineReceived propagates; the lines after it are still delivered later."""

    class Raiser(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            if line == b"boom":
                raise ValueError("boom")

    p = Raiser()
    connected(p)
    with pytest.raises(ValueError):
        p.dataReceived(b"a\r\nboom\r\nb\r\nc\r\n")
    p.dataReceived(b"")
    assert p.events == [("line", b"a"), ("line", b"boom"), ("line", b"b"), ("line", b"c")]


def test_many_mode_switches_in_one_big_chunk() -> None:
    """10k raw-mode round trips in one chunk are all delivered, in order."""
    p = Lines()
    connected(p)
    p.dataReceived(b"".join(b"raw 3\r\n%03d" % (n % 1000) for n in range(10_000)) + b"end\r\n")
    raws = [data for kind, data in p.events if kind == "raw"]
    assert len(raws) == 10_000
    assert raws[:3] == [b"000", b"001", b"002"]
    assert p.events[-1] == ("line", b"end")


def test_delimiter_and_max_length_changed_inside_line_received() -> None:
    """A new delimiter or MAX_LENGTH set in lineReceived applies from the next line on."""

    class Switcher(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            if line == b"unix":
                self.delimiter = b"\n"
            elif line == b"short":
                self.MAX_LENGTH = 3

    p = Switcher()
    t = connected(p)
    p.dataReceived(b"a\r\nunix\r\nb\nc\nshort\nabc\nabcd\nnever\n")
    assert p.events == [
        ("line", b"a"),
        ("line", b"unix"),
        ("line", b"b"),
        ("line", b"c"),
        ("line", b"short"),
        ("line", b"abc"),
    ]
    assert p.exceeded == [b"abcd\nnever\n"]
    assert t.disconnecting
