"""``WriteBufferMixin``: the consumer side shared by the buffered writing transports.

``Connection`` (stream sockets) and ``FDWriter`` (pipes, ttys) both buffer what the kernel does
not take at once and pause a registered push producer above ``highWaterMark`` (resumed below
``lowWaterMark``); a pull producer is asked for more each time the buffer drains. What they
share lives here; the ``write``/``doWrite`` paths stay in each class, inlined, as they are the
hot path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plait.log import Logger

__all__ = ["WriteBufferMixin"]

_log = Logger("plait.reactor")


class WriteBufferMixin:
    """Producer registration and the write buffer's accessors (``IConsumer``)."""

    highWaterMark = 65536
    lowWaterMark = 16384
    producer: Any = None
    streamingProducer = False
    producerPaused = False
    disconnected: bool
    _buffer: bytearray

    def write(self, data: bytes) -> None:
        """Write ``data`` (each transport implements it)."""
        raise NotImplementedError

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        """Write each chunk of ``iovec`` in order (a str among them is a TypeError)."""
        self.write(b"".join(iovec))

    def getWriteBufferSize(self) -> int:
        """How many bytes are buffered, waiting for the kernel to take them."""
        return len(self._buffer)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Attach a producer, paused and resumed by the buffer's water marks."""
        if self.producer is not None:
            raise RuntimeError(
                f"Cannot register producer {producer!r}, because {self.producer!r} "
                "is still registered"
            )
        if self.disconnected:
            producer.stopProducing()
            return
        self.producer = producer
        self.streamingProducer = bool(streaming)
        self.producerPaused = False
        if not streaming:
            self._pullProducerAttached()
            producer.resumeProducing()
        elif len(self._buffer) > self.highWaterMark:
            self.producerPaused = True
            producer.pauseProducing()

    def _pullProducerAttached(self) -> None:
        """Hook: a pull producer was registered and is about to be asked for data."""

    def unregisterProducer(self) -> None:
        """Detach the producer; a pending ``loseConnection`` can then complete."""
        self.producer = None
        self.streamingProducer = False
        self.producerPaused = False
        self._producerDetached()

    def _producerDetached(self) -> None:
        """Hook: the producer was unregistered (finish a close that waited for it)."""

    def _stopProducer(self) -> None:
        """The transport is lost: detach the producer and tell it to stop."""
        producer = self.producer
        if producer is not None:
            self.producer = None
            try:
                producer.stopProducing()
            except Exception:
                _log.failure("Error in stopProducing of {producer!r}", producer=producer)
