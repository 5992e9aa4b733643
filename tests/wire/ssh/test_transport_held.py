"""The transport machine counts the service bytes it holds back during a key exchange."""

from __future__ import annotations

from plait.wire.ssh.types import DisconnectReason

from .test_transport import handshake, pump


def test_held_bytes_counted_and_released_by_newkeys() -> None:
    """heldBytes grows while our KEXINIT is unanswered and drops to 0 when they go out."""
    c, s = handshake()
    assert c.heldBytes == 0
    c.sendMessage(94, b"x" * 100)
    assert c.heldBytes == 0  # no kex: sent at once
    assert c.requestRekey()
    c.sendMessage(94, b"y" * 100)
    c.sendMessage(94, b"z" * 50)
    assert c.heldBytes == 150
    pump(c, s)
    assert c.heldBytes == 0 and not c.kexInProgress


def test_held_bytes_cleared_by_disconnect() -> None:
    """Held messages are dropped with the connection, and so is their count."""
    c, _s = handshake()
    c.requestRekey()
    c.sendMessage(94, b"y" * 100)
    assert c.heldBytes == 100
    c.sendDisconnect(DisconnectReason.BY_APPLICATION, "bye")
    assert c.heldBytes == 0
