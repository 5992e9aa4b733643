"""``sendMessageParts``: a message sent as header + data arrives as their concatenation."""

from __future__ import annotations

import pytest

from plait.wire import LocalProtocolError
from plait.wire.ssh._cipher import CIPHERS
from plait.wire.ssh._transport import MAX_PAYLOAD
from plait.wire.ssh.transport import PacketReceived
from plait.wire.ssh.types import MSG

from .test_transport import events, handshake, pump

HEADER = b"\x00\x00\x00\x07\x00\x00\x80\x00"
DATA = bytes(range(256)) * 128  # 32 KiB


def _received(evs: list[object]) -> list[tuple[int, bytes]]:
    """The (number, payload) of each PacketReceived event."""
    return [(e.messageNum, e.payload) for e in evs if isinstance(e, PacketReceived)]


@pytest.mark.parametrize("cipher", sorted(c for c in CIPHERS if c != "none"))
def test_parts_arrive_joined(cipher: str) -> None:
    """Header and a memoryview of data arrive as one payload, under every cipher."""
    c, s = handshake(client={"ciphers": [cipher]})
    c.sendMessageParts(94, HEADER, memoryview(DATA)[1:])
    s.receiveData(c.dataToSend())
    assert _received(events(s)) == [(94, HEADER + DATA[1:])]


def test_parts_held_during_kex_then_sent() -> None:
    """During a key exchange the parts are held (counted) and go out after NEWKEYS."""
    c, s = handshake()
    assert c.requestRekey()
    c.sendMessageParts(94, HEADER, memoryview(DATA))
    assert c.heldBytes == len(HEADER) + len(DATA)
    _ce, se = pump(c, s)
    assert c.heldBytes == 0
    assert _received(se) == [(94, HEADER + DATA)]


def test_parts_compressed() -> None:
    """With delayed compression on, the parts are compressed as one payload."""
    opts = {"compressions": ["zlib@openssh.com"]}
    c, s = handshake(client=opts, server=opts)
    s.sendMessage(MSG.USERAUTH_SUCCESS, b"")
    c.receiveData(s.dataToSend())
    events(c)
    c.sendMessageParts(94, HEADER, bytes(30000))
    wire = c.dataToSend()
    assert len(wire) < 1000
    s.receiveData(wire)
    assert _received(events(s)) == [(94, HEADER + bytes(30000))]


def test_parts_too_long_refused() -> None:
    """A payload over the limit is refused, as by sendMessage."""
    c, _s = handshake()
    with pytest.raises(LocalProtocolError):
        c.sendMessageParts(94, HEADER, bytes(MAX_PAYLOAD))
