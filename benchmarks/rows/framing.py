"""Framing rows: plait's LineReceiver/Int32StringReceiver against Twisted's (lines/s).

Each sample feeds a whole stream to a fresh protocol connected to its library's in-memory
transport and times the ``dataReceived`` calls; the protocol only counts what it gets. The same
stream and the same chunking go to both libraries.

Twisted's ``LineReceiver`` splits its buffer with ``split(delimiter, 1)`` once per line, which
copies the rest of the buffer each time: quadratic in the chunk size. On the one-big-chunk
row it gets a 100k-line chunk (1.2 MB, about 3 s) instead of 1M (10 MB, several minutes);
its lines/s only fall further as the chunk grows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from . import Context, Impl, Row, Unavailable
from ._micro import OPS_PER_CPU_SECOND

_LINE = b"0123456789"  # 10 bytes + b"\r\n": 1M lines are 12 MB
_BIG = 1_000_000
_TWISTED_BIG = 100_000
_CHUNKED = 1_000_000
_BYTEWISE = 20_000
_STRINGS = 100_000


def _library(name: str, kind: str) -> tuple[type, Callable[[], Any]]:
    """(protocol base class, transport factory) of ``name`` ('plait' or 'twisted')."""
    if name == "plait":
        try:
            from plait.protocols import framing
            from plait.testing import StringTransport
        except ImportError as e:
            raise Unavailable(f"plait.protocols.framing cannot be imported: {e}") from e
        base = getattr(framing, kind)
        return base, StringTransport
    try:
        from twisted.internet.testing import StringTransport as TwistedTransport
        from twisted.protocols import basic
    except ImportError as e:
        raise Unavailable(f"Twisted cannot be imported: {e}") from e
    return getattr(basic, kind), TwistedTransport


def _lineCounter(base: type) -> Any:
    class Counter(base):  # type: ignore[misc, valid-type]
        count = 0

        def lineReceived(self, line: bytes) -> None:
            self.count += 1

        def stringReceived(self, string: bytes) -> None:
            self.count += 1

    return Counter


def _chunks(data: bytes, sizes: Callable[[], int]) -> list[bytes]:
    out = []
    i = 0
    while i < len(data):
        n = sizes()
        out.append(data[i : i + n])
        i += n
    return out


def _measure(
    libName: str, kind: str, stream: Callable[[], tuple[list[bytes], int]]
) -> Callable[[Context], list[float]]:
    def measure(ctx: Context) -> list[float]:
        base, transportFactory = _library(libName, kind)
        counter = _lineCounter(base)
        if kind == "Int32StringReceiver":
            counter.MAX_LENGTH = 1 << 20
        pieces, count = stream()
        rates = []
        for _ in range(ctx.samples):
            p = counter()
            p.makeConnection(transportFactory())
            received = p.dataReceived
            cpu = time.process_time()
            start = time.perf_counter()
            for piece in pieces:
                received(piece)
            wall = time.perf_counter() - start
            cpu = time.process_time() - cpu
            if p.count != count:
                raise RuntimeError(f"{libName}: got {p.count} messages, expected {count}")
            rates.append(count / wall)
            if cpu > 0:
                ctx.record(OPS_PER_CPU_SECOND, count / cpu)
        return rates

    return measure


def _oneChunk(lines: int) -> Callable[[], tuple[list[bytes], int]]:
    return lambda: ([(_LINE + b"\r\n") * lines], lines)


def _randomChunks() -> tuple[list[bytes], int]:
    rng = random.Random(7)
    return _chunks((_LINE + b"\r\n") * _CHUNKED, lambda: rng.randint(1, 4096)), _CHUNKED


def _bytewise() -> tuple[list[bytes], int]:
    return _chunks((_LINE + b"\r\n") * _BYTEWISE, lambda: 1), _BYTEWISE


def _int32Strings() -> tuple[list[bytes], int]:
    rng = random.Random(11)
    parts = []
    for _ in range(_STRINGS):
        n = rng.randint(0, 40)
        parts.append(n.to_bytes(4, "big") + b"s" * n)
    return _chunks(b"".join(parts), lambda: 65536), _STRINGS


def _row(
    rowId: str,
    title: str,
    kind: str,
    plaitStream: Callable[[], tuple[list[bytes], int]],
    twistedStream: Callable[[], tuple[list[bytes], int]],
    note: str = "",
) -> Row:
    unit = "strings/s" if kind == "Int32StringReceiver" else "lines/s"
    return Row(
        id=rowId,
        title=title,
        unit=unit,
        impls=(
            Impl("plait", _measure("plait", kind, plaitStream)),
            Impl("twisted", _measure("twisted", kind, twistedStream)),
        ),
        timeout=lambda ctx: 120 + ctx.samples * 30,
        note=note,
    )


ROWS = [
    _row(
        "framing.bigchunk",
        "LineReceiver: one 12 MB chunk of 1M 10-byte lines",
        "LineReceiver",
        _oneChunk(_BIG),
        _oneChunk(_TWISTED_BIG),
        note="Twisted gets 100k lines (its split is quadratic; 1M would take minutes)",
    ),
    _row(
        "framing.bigchunk.lineonly",
        "LineOnlyReceiver: one 12 MB chunk of 1M 10-byte lines",
        "LineOnlyReceiver",
        _oneChunk(_BIG),
        _oneChunk(_BIG),
    ),
    _row(
        "framing.chunked",
        "LineReceiver: 1M 10-byte lines in random 1 B..4 KiB chunks",
        "LineReceiver",
        _randomChunks,
        _randomChunks,
    ),
    _row(
        "framing.bytewise",
        "LineReceiver: 20k 10-byte lines fed one byte at a time",
        "LineReceiver",
        _bytewise,
        _bytewise,
    ),
    _row(
        "framing.int32",
        "Int32StringReceiver: 100k strings of 0-40 bytes in 64 KiB chunks",
        "Int32StringReceiver",
        _int32Strings,
        _int32Strings,
    ),
]
