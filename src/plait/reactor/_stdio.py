"""``StandardIO``: the process's standard input and output as a protocol's transport (the
paper's console example).

``StandardIO(protocol, stdin=0, stdout=1, reactor=reactor)`` reads ``stdin`` into
``protocol.dataReceived`` and writes to ``stdout``. Both are non-blocking while in use and
put back as they were when the connection is lost. The end of standard input goes to
``readConnectionLost`` for an ``IHalfCloseableProtocol`` (it may keep writing, then call
``loseConnection``); any other protocol's connection is lost with ``ConnectionDone`` once its
output is flushed. ``loseConnection`` flushes and closes both descriptors; ``loseWriteConnection``
closes only standard output (the reader at the other end sees the end of input).
"""

from __future__ import annotations

from typing import Any

from ._fdtransport import FileDescriptorTransport

__all__ = ["StandardIO"]


class StandardIO(FileDescriptorTransport):
    """Standard input and output as one transport (see the module docstring).

    ``reactor`` is required: plait has no global reactor (it is keyword-compatible with
    Twisted's ``StandardIO(protocol, stdin, stdout, reactor=...)``).
    """

    def __init__(self, protocol: Any, stdin: int = 0, stdout: int = 1, reactor: Any = None) -> None:
        if reactor is None:
            raise TypeError("StandardIO needs a reactor (plait has no global reactor)")
        super().__init__(reactor, stdin, protocol, writeFD=stdout)
