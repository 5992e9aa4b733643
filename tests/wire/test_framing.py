"""The sans-IO framing machines of ``plait.wire``: every (state, input) class, every chunking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plait.wire import (
    LengthLimitExceeded,
    LengthPrefixedDecoder,
    LineReceived,
    LineSplitter,
    LineTooLong,
    LocalProtocolError,
    NetstringDecoder,
    NetstringParseError,
    RawDataReceived,
    RemoteProtocolError,
    StringReceived,
    encodeLengthPrefixed,
    encodeNetstring,
)


def chunks(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    """``data`` cut at the (sorted, clamped) offsets ``cuts``."""
    last = 0
    for cut in sorted(min(max(c, 0), len(data)) for c in cuts):
        yield data[last:cut]
        last = cut
    yield data[last:]


def splitAll(splitter: LineSplitter, pieces: Iterator[bytes] | list[bytes]) -> list[object]:
    """Feed every piece and collect all events."""
    events: list[object] = []
    for piece in pieces:
        events.extend(splitter.receiveData(piece))
    return events


# -- LineSplitter, line mode ----------------------------------------------------------------


def test_lines_in_one_chunk() -> None:
    """Complete lines come out in order, without delimiters; the partial tail waits."""
    s = LineSplitter()
    assert list(s.receiveData(b"a\r\nbc\r\n\r\nd")) == [
        LineReceived(b"a"),
        LineReceived(b"bc"),
        LineReceived(b""),
    ]
    assert s.buffered == 1


def test_empty_input_gives_nothing() -> None:
    """Feeding nothing to an empty splitter gives no events."""
    assert list(LineSplitter().receiveData(b"")) == []


def test_delimiter_split_across_chunks() -> None:
    """A delimiter cut in two by the chunking still ends the line."""
    s = LineSplitter(b"\r\n")
    assert list(s.receiveData(b"abc\r")) == []
    assert list(s.receiveData(b"\ndef")) == [LineReceived(b"abc")]


def test_long_delimiter_split_byte_by_byte() -> None:
    """A multi-byte delimiter fed one byte at a time is found once."""
    s = LineSplitter(b"<END>")
    assert splitAll(s, [bytes([b]) for b in b"x<EN<END>y<END>"]) == [
        LineReceived(b"x<EN"),
        LineReceived(b"y"),
    ]


def test_self_overlapping_delimiter_matches_left_to_right() -> None:
    """With delimiter b'aa', b'aaa' is one empty line and a pending b'a' (both fast paths agree)."""
    s = LineSplitter(b"aa")
    s.feed(b"aaa")
    assert s.readLines() == [b""]
    assert s.buffered == 1
    t = LineSplitter(b"aa")
    assert list(t.receiveData(b"aaa")) == [LineReceived(b"")]


def test_line_of_exactly_max_length_is_accepted() -> None:
    """A line of maxLength bytes is fine; one byte more is LineTooLong."""
    s = LineSplitter(b"\n", maxLength=3)
    assert list(s.receiveData(b"abc\n")) == [LineReceived(b"abc")]
    assert list(s.receiveData(b"abcd\nrest")) == [LineTooLong(b"abcd\nrest")]
    assert s.buffered == 0


def test_partial_line_too_long() -> None:
    """A partial line that can no longer fit is reported before its delimiter arrives."""
    s = LineSplitter(b"\r\n", maxLength=4)
    assert list(s.receiveData(b"abcd\r")) == []  # could still be a 4-byte line
    assert list(s.receiveData(b"e")) == [LineTooLong(b"abcd\re")]


def test_after_line_too_long_parsing_continues_afresh() -> None:
    """After LineTooLong the buffer is empty and later lines are parsed normally."""
    s = LineSplitter(b"\n", maxLength=2)
    assert list(s.receiveData(b"toolong")) == [LineTooLong(b"toolong")]
    assert list(s.receiveData(b"ok\n")) == [LineReceived(b"ok")]


def test_bad_arguments_are_local_errors() -> None:
    """An empty delimiter or a negative maxLength is our mistake: LocalProtocolError."""
    with pytest.raises(LocalProtocolError):
        LineSplitter(b"")
    with pytest.raises(LocalProtocolError):
        LineSplitter(maxLength=-1)
    s = LineSplitter()
    with pytest.raises(LocalProtocolError):
        s.delimiter = b""


def test_changing_the_delimiter_applies_to_buffered_data() -> None:
    """Setting a new delimiter re-searches the unparsed bytes with it."""
    s = LineSplitter(b"\r\n")
    assert list(s.receiveData(b"a\nb\n")) == []
    s.delimiter = b"\n"
    assert list(s.receiveData(b"")) == [LineReceived(b"a"), LineReceived(b"b")]


def test_clear_returns_the_buffer() -> None:
    """clear() hands back the undelivered bytes and empties the splitter."""
    s = LineSplitter()
    s.feed(b"one\r\ntwo")
    assert s.nextLine() == b"one"
    assert s.clear() == b"two"
    assert s.nextEvent() is None


def test_next_line_declines_other_events() -> None:
    """nextLine returns None for a too-long line or raw mode; nextEvent then tells which."""
    s = LineSplitter(b"\n", maxLength=1)
    s.feed(b"xx\n")
    assert s.nextLine() is None
    assert s.nextEvent() == LineTooLong(b"xx\n")
    s.feed(b"y")
    s.setRawMode()
    assert s.nextLine() is None
    assert s.readLines() == []
    assert s.nextEvent() == RawDataReceived(b"y")


def test_read_lines_stops_before_a_too_long_line() -> None:
    """readLines returns the lines before a too-long one, which nextEvent then reports."""
    s = LineSplitter(b"\n", maxLength=2)
    s.feed(b"a\nbb\nccc\nd\n")
    assert s.readLines() == [b"a", b"bb"]
    assert s.nextEvent() == LineTooLong(b"ccc\nd\n")


# -- LineSplitter, raw mode -----------------------------------------------------------------


def test_raw_mode_switch_between_events_takes_the_next_byte() -> None:
    """Switching to raw mode after a line makes the very next byte raw data."""
    s = LineSplitter()
    events = s.receiveData(b"HEAD\r\nBODY\r\nMORE")
    assert next(events) == LineReceived(b"HEAD")
    s.setRawMode()
    assert next(events) == RawDataReceived(b"BODY\r\nMORE")
    assert list(events) == []


def test_raw_then_line_mode_with_extra() -> None:
    """setLineMode(extra) parses extra as lines again."""
    s = LineSplitter()
    s.setRawMode()
    assert list(s.receiveData(b"12345")) == [RawDataReceived(b"12345")]
    s.setLineMode(b"x\r\ny")
    assert list(s.receiveData(b"\r\n")) == [LineReceived(b"x"), LineReceived(b"y")]
    assert not s.rawMode


def test_raw_mode_on_empty_buffer_waits() -> None:
    """Raw mode with nothing buffered gives no event until data arrives."""
    s = LineSplitter()
    s.setRawMode()
    assert s.nextEvent() is None
    assert list(s.receiveData(b"\r\n")) == [RawDataReceived(b"\r\n")]


def _httpish(pieces: list[bytes]) -> list[object]:
    """Line mode; a line b'raw N' switches to raw mode for N bytes, then back with the extra."""
    s = LineSplitter(b"\n", maxLength=50)
    out: list[object] = []
    want = 0
    for piece in pieces:
        for event in s.receiveData(piece):
            if isinstance(event, LineReceived):
                out.append(event)
                if event.line.startswith(b"raw "):
                    want = int(event.line[4:])
                    if want:
                        s.setRawMode()
            elif isinstance(event, RawDataReceived):
                body, extra = event.data[:want], event.data[want:]
                want -= len(body)
                out.append(("body", body))
                if not want:
                    s.setLineMode(extra)
            else:
                out.append(event)
    return out


_lineStream = st.lists(
    st.one_of(
        st.binary(max_size=60).filter(lambda b: b"\n" not in b).map(lambda b: b + b"\n"),
        st.integers(0, 20).map(lambda n: b"raw %d\n%s" % (n, b"R" * n)),
    ),
    max_size=20,
).map(b"".join)


@given(_lineStream, st.lists(st.integers(0, 2000), max_size=30))
def test_any_chunking_gives_the_same_events(stream: bytes, cuts: list[int]) -> None:
    """Random splits of a random stream (lines, raw bodies, too-long lines) = one chunk."""
    whole = _httpish([stream])
    split = _httpish(list(chunks(stream, cuts)))

    def merged(events: list[object]) -> list[object]:
        # raw data may come in several pieces; compare the concatenation
        out: list[object] = []
        for e in events:
            if isinstance(e, tuple) and out and isinstance(out[-1], tuple):
                out[-1] = ("body", out[-1][1] + e[1])
            else:
                out.append(e)
        return out

    assert merged(split) == merged(whole)


@given(_lineStream)
def test_one_byte_at_a_time_gives_the_same_lines(stream: bytes) -> None:
    """Feeding one byte at a time gives the same lines, and raw bytes, as one chunk."""
    whole = _httpish([stream])
    single = _httpish([bytes([b]) for b in stream])
    assert [e for e in single if not isinstance(e, tuple)] == [
        e for e in whole if not isinstance(e, tuple)
    ]
    raw = b"".join(e[1] for e in single if isinstance(e, tuple))
    assert raw == b"".join(e[1] for e in whole if isinstance(e, tuple))


@given(st.lists(st.binary(max_size=30), max_size=30), st.lists(st.integers(0, 500), max_size=20))
def test_read_lines_agrees_with_next_event(parts: list[bytes], cuts: list[int]) -> None:
    """The split fast path (readLines) yields exactly what nextEvent yields."""
    stream = b"".join(parts)
    a, b = LineSplitter(b"\r\n", 20), LineSplitter(b"\r\n", 20)
    slow: list[object] = []
    fast: list[object] = []
    for piece in chunks(stream, cuts):
        slow.extend(a.receiveData(piece))
        b.feed(piece)
        while True:
            fast.extend(LineReceived(line) for line in b.readLines())
            event = b.nextEvent()
            if event is None:
                break
            fast.append(event)
    assert fast == slow


# -- length prefixes ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 4])
def test_length_prefixed_round_trip(size: Literal[1, 2, 4]) -> None:
    """Encoded strings decode back, byte by byte too."""
    strings = [b"", b"a", b"hello" * 40]
    wire = b"".join(encodeLengthPrefixed(s, size) for s in strings)
    d = LengthPrefixedDecoder(size, maxLength=1000)
    out: list[object] = []
    for i in range(len(wire)):
        out.extend(d.receiveData(wire[i : i + 1]))
    assert out == [StringReceived(s) for s in strings]


def test_length_prefix_is_big_endian() -> None:
    """A 2-byte prefix of 0x0003 announces 3 bytes."""
    d = LengthPrefixedDecoder(2)
    assert list(d.receiveData(b"\x00\x03abcX")) == [StringReceived(b"abc")]
    assert d.buffered == 1


def test_length_limit_exceeded_stops_the_decoder() -> None:
    """A prefix over maxLength is an event; feeding the stopped decoder is a LocalProtocolError."""
    d = LengthPrefixedDecoder(4, maxLength=10)
    assert list(d.receiveData(b"\x00\x00\x00\x02ok\x00\x00\x00\x0bxx")) == [
        StringReceived(b"ok"),
        LengthLimitExceeded(11),
    ]
    assert d.nextEvent() is None
    with pytest.raises(LocalProtocolError):
        d.feed(b"more")


def test_encoding_too_long_for_the_prefix_is_a_local_error() -> None:
    """256 bytes do not fit a 1-byte prefix; a bad prefix size is refused."""
    with pytest.raises(LocalProtocolError):
        encodeLengthPrefixed(b"x" * 256, 1)
    assert encodeLengthPrefixed(b"x" * 255, 1)[:1] == b"\xff"
    with pytest.raises(LocalProtocolError):
        LengthPrefixedDecoder(3)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        LengthPrefixedDecoder(1).encode(b"y" * 300)


@given(st.lists(st.binary(max_size=300), max_size=10), st.lists(st.integers(0, 4000)))
def test_length_prefixed_any_chunking(strings: list[bytes], cuts: list[int]) -> None:
    """Random splits decode to the strings that were encoded."""
    wire = b"".join(encodeLengthPrefixed(s, 2) for s in strings)
    d = LengthPrefixedDecoder(2, maxLength=300)
    out: list[object] = []
    for piece in chunks(wire, cuts):
        out.extend(d.receiveData(piece))
    assert out == [StringReceived(s) for s in strings]


# -- netstrings -----------------------------------------------------------------------------


def test_netstring_encoding() -> None:
    """b'hello' is b'5:hello,'; the empty string is b'0:,'."""
    assert encodeNetstring(b"hello") == b"5:hello,"
    assert NetstringDecoder().encode(b"") == b"0:,"


@given(st.lists(st.binary(max_size=200), max_size=10), st.lists(st.integers(0, 3000)))
def test_netstring_any_chunking(strings: list[bytes], cuts: list[int]) -> None:
    """Random splits decode to the strings that were encoded."""
    wire = b"".join(encodeNetstring(s) for s in strings)
    d = NetstringDecoder(maxLength=200)
    out: list[object] = []
    for piece in chunks(wire, cuts):
        out.extend(d.receiveData(piece))
    assert out == [StringReceived(s) for s in strings]


@pytest.mark.parametrize(
    "bad",
    [
        b":abc,",  # no length
        b"x:abc,",  # not a digit
        b"3x",  # junk in the length
        b"03:abc,",  # leading zero
        b"3:abc;",  # wrong terminator
        b"1000:",  # over maxLength (999)
        b"12345",  # more digits than maxLength has, before any colon
        b"-1:",  # a sign
    ],
)
def test_netstring_errors(bad: bytes) -> None:
    """Each kind of bad framing raises NetstringParseError, a RemoteProtocolError, and stops."""
    d = NetstringDecoder(maxLength=999)
    with pytest.raises(NetstringParseError) as info:
        list(d.receiveData(bad))
    assert isinstance(info.value, RemoteProtocolError)
    with pytest.raises(LocalProtocolError):
        d.feed(b"1:a,")


def test_netstring_error_after_good_strings() -> None:
    """Strings before the bad one are delivered first (the iterator is lazy)."""
    d = NetstringDecoder()
    events = d.receiveData(b"1:a,1:bX")
    assert next(events) == StringReceived(b"a")
    with pytest.raises(NetstringParseError):
        next(events)


# -- linearity ------------------------------------------------------------------------------


def test_partial_line_fed_byte_by_byte_is_searched_once() -> None:
    """A 1 MB line fed in 1-byte chunks: the scan offset keeps the search linear."""
    s = LineSplitter(b"\r\n", maxLength=1 << 21)
    for _ in range(1 << 17):
        s.feed(b"x")
        assert s.nextEvent() is None
        # the search restarts near the end, never at the beginning of the line
        assert s._scan >= s._pos + s.buffered - 1
    s.feed(b"\r\n")
    event = s.nextEvent()
    assert isinstance(event, LineReceived)
    assert len(event.line) == 1 << 17


def pending(s: LineSplitter) -> bool:
    """``s.pending``, read through a call (so a type checker does not narrow it)."""
    return s.pending


def test_pending_tells_need_data_from_other_events() -> None:
    """pending is False when only more data can help, True for raw data or a too-long line."""
    s = LineSplitter(b"\r\n", maxLength=4)
    assert not pending(s)
    s.feed(b"ab\r")
    assert s.nextLine() is None and not pending(s)
    s.feed(b"\nxyz")
    assert pending(s) and s.nextLine() == b"ab"
    assert s.nextLine() is None and not pending(s)
    s.feed(b"zzz")
    assert s.nextLine() is None and pending(s)
    assert s.nextEvent() == LineTooLong(b"xyzzzz")
    s.feed(b"r")
    s.setRawMode()
    assert pending(s) and s.nextEvent() == RawDataReceived(b"r")


def test_feeding_bytearrays_gives_bytes() -> None:
    """Data fed as bytearray (or bytes into a bytearray buffer) still yields bytes lines."""
    s = LineSplitter(b"\n")
    s.feed(bytearray(b"abc"))  # type: ignore[arg-type]
    s.feed(b"d")
    s.feed(b"e\nf")
    line = s.nextLine()
    assert line == b"abcde" and type(line) is bytes
    t = LineSplitter(b"\n")
    t.feed(b"x" * 100)
    for _ in range(50):
        t.feed(b"y")  # a long partial line grows a bytearray buffer
    t.feed(b"\n")
    (event,) = list(t.receiveData(b""))
    assert event == LineReceived(b"x" * 100 + b"y" * 50)
    assert isinstance(event, LineReceived) and type(event.line) is bytes


def test_next_string_fast_path() -> None:
    """nextString returns strings, and None at a partial string or an over-limit prefix."""
    d = LengthPrefixedDecoder(1, maxLength=3)
    d.feed(b"\x02ab\x01")
    assert d.nextString() == b"ab"
    assert d.nextString() is None and d.nextEvent() is None
    d.feed(b"c\x09")
    assert d.nextString() == b"c"
    assert d.nextString() is None
    assert d.nextEvent() == LengthLimitExceeded(9)
    assert d.nextString() is None


def _httpishBatched(pieces: list[bytes]) -> list[object]:
    """_httpish driven through takeLines, as LineReceiver drives it."""
    s = LineSplitter(b"\n", maxLength=50)
    out: list[object] = []
    want = 0
    for piece in pieces:
        s.feed(piece)
        while True:
            got = False
            for line in s.takeLines():
                got = True
                out.append(LineReceived(line))
                if line.startswith(b"raw "):
                    want = int(line[4:])
                    if want:
                        s.setRawMode()  # settles the batch: the rest is raw
            if got:
                continue
            event = s.nextEvent()
            if event is None:
                break
            if isinstance(event, RawDataReceived):
                body, extra = event.data[:want], event.data[want:]
                want -= len(body)
                out.append(("body", body))
                if not want:
                    s.setLineMode(extra)
            else:
                out.append(event)
    return out


@given(_lineStream, st.lists(st.integers(0, 2000), max_size=30))
def test_take_lines_batches_agree_with_next_event(stream: bytes, cuts: list[int]) -> None:
    """Batched delivery with mode switches inside a batch gives the same events."""
    pieces = list(chunks(stream, cuts))
    assert _httpishBatched(pieces) == _httpish(pieces)


def test_settle_returns_undelivered_lines_to_the_buffer() -> None:
    """Stopping after 2 lines of a batch leaves the rest buffered, byte for byte."""
    s = LineSplitter(b"\n")
    s.feed(b"a\nbb\nccc\ndddd")
    it = s.takeLines()
    assert [next(it), next(it)] == [b"a", b"bb"]
    assert s.buffered == len(b"ccc\ndddd")  # any call settles first
    assert list(it) == []  # the batch iterator stopped
    assert s.clear() == b"ccc\ndddd"


def test_settle_after_a_fully_used_batch_grows_the_window() -> None:
    """A batch used up doubles the window; one cut short drops it back (bounded re-splitting)."""
    s = LineSplitter(b"\n")
    s.feed(b"x\n" * 10_000)
    sizes = []
    for _ in range(4):
        sizes.append(len(list(s.takeLines())))
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    it = s.takeLines()
    next(it)
    s.settle()
    assert len(list(s.takeLines())) <= sizes[0]


def test_take_lines_long_line_and_too_long() -> None:
    """A line longer than the window comes alone; a too-long one is left for nextEvent."""
    s = LineSplitter(b"\n", maxLength=100_000)
    s.feed(b"y" * 5000 + b"\nz\n")
    assert list(s.takeLines()) == [b"y" * 5000]
    assert list(s.takeLines()) == [b"z"]
    t = LineSplitter(b"\n", maxLength=3)
    t.feed(b"ok\ntoolong\nok\n")
    assert list(t.takeLines()) == [b"ok"]
    assert list(t.takeLines()) == []
    assert t.nextEvent() == LineTooLong(b"toolong\nok\n")


def test_feed_tells_when_nothing_can_be_ready() -> None:
    """feed returns False only for bytes that cannot end a line of an idle splitter."""
    s = LineSplitter(b"\r\n", maxLength=5)
    assert s.feed(b"ab")  # not known to be idle yet
    assert s.nextLine() is None
    assert not s.feed(b"c")  # idle, and no b"\n": nothing can be ready
    assert s.feed(b"\r\n")  # may end a line
    assert s.nextLine() == b"abc"
    assert s.nextLine() is None
    assert not s.feed(b"xxxx")
    assert s.feed(b"yyy")  # can no longer fit maxLength: a LineTooLong is ready
    assert s.nextEvent() == LineTooLong(b"xxxxyyy")
    s.setRawMode()
    assert s.feed(b"z")  # raw data is always ready
