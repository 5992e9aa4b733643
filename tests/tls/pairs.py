"""TLS protocols joined in memory: builders, recording protocols and a chunking pump."""

from __future__ import annotations

from typing import Any

from plait.defer import Failure
from plait.protocol import Protocol
from plait.testing import FakeTransport, IOPump, connect
from plait.tls import TLSProtocol


class Recorder(Protocol):
    """Records what happens to it; writes ``greeting`` once connected."""

    greeting = b""

    def __init__(self) -> None:
        self.made = 0
        self.received = bytearray()
        self.lost: list[Failure] = []
        self.handshakes = 0

    def connectionMade(self) -> None:
        self.made += 1
        assert self.transport is not None
        if self.greeting:
            self.transport.write(self.greeting)

    def handshakeCompleted(self) -> None:
        self.handshakes += 1

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.append(reason)


class EchoRecorder(Recorder):
    """A recorder that echoes."""

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        assert self.transport is not None
        self.transport.write(data)


def tlsPair(
    serverOptions: object,
    clientOptions: object,
    server: Protocol | None = None,
    client: Protocol | None = None,
    greet: bool = True,
) -> tuple[TLSProtocol, TLSProtocol, IOPump]:
    """Wrap ``server``/``client`` (Recorders by default) in TLS and connect them in memory."""
    s = TLSProtocol(None, server or Recorder(), serverOptions, isClient=False)
    c = TLSProtocol(None, client or Recorder(), clientOptions, isClient=True)
    pump = connect(s, c, greet=greet)
    return s, c, pump


def chunkedPump(pump: IOPump, size: int, rounds: int = 100_000) -> None:
    """Like ``pump.flush()`` but delivering at most ``size`` bytes per ``dataReceived``."""
    ends: tuple[tuple[FakeTransport, FakeTransport], ...] = (
        (pump.clientIO, pump.serverIO),
        (pump.serverIO, pump.clientIO),
    )
    pending: dict[int, bytearray] = {id(pump.clientIO): bytearray(), id(pump.serverIO): bytearray()}
    for _ in range(rounds):
        moved = False
        for src, dst in ends:
            buf = pending[id(src)]
            buf += src._takeOutgoing()
            if buf and not dst.disconnected:
                piece = bytes(buf[:size])
                del buf[:size]
                dst.protocol.dataReceived(piece)
                moved = True
        if not moved:
            pump.flush()
            return
    raise AssertionError("chunkedPump did not settle")


def wrapped(p: TLSProtocol) -> Any:
    """The protocol inside a TLS wrapper."""
    return p.wrappedProtocol
