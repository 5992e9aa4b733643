"""Whole-file transfers with many requests in flight: ``FileTransferClient.get``/``put``.

A download keeps ``maxInFlight`` READs of ``chunkSize`` outstanding, writes what comes back to
the local file in order (a reply out of order waits in a buffer bounded by the requests in
flight), asks again for the rest of a short read, and stops at the first EOF. An upload keeps
``maxInFlight`` WRITEs outstanding, reading the local file as replies free slots.
"""

from __future__ import annotations

import functools
from typing import IO, TYPE_CHECKING

from plait.defer import Deferred, Failure
from plait.wire.ssh import sftp as w

from ._sftp_interfaces import SFTPError

if TYPE_CHECKING:
    from ._sftp_client import ClientFile, FileTransferClient


def _replyError(reply: w.Message) -> SFTPError:
    if isinstance(reply, w.Status):
        return SFTPError(reply.code, reply.message, reply.language)
    return SFTPError(w.FX.BAD_MESSAGE, f"unexpected reply {type(reply).__name__}")


class _Transfer:
    def __init__(self, client: FileTransferClient, chunkSize: int, maxInFlight: int) -> None:
        if chunkSize <= 0 or maxInFlight <= 0:
            raise ValueError("chunkSize and maxInFlight must be positive")
        self.client = client
        self.chunkSize = chunkSize
        self.maxInFlight = maxInFlight
        self.inFlight = 0
        self.error: BaseException | None = None
        self.file: ClientFile | None = None
        self.result: Deferred[int] = Deferred()
        self._finished = False

    def _opened(self, file: ClientFile) -> None:
        self.file = file
        self._fill()

    def _fill(self) -> None:  # pragma: no cover - each subclass defines it
        raise NotImplementedError

    def _fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error

    def _finish(self, count: int) -> None:
        if self._finished:
            return
        self._finished = True
        assert self.file is not None
        error = self.error

        def closed(_: object) -> None:
            if error is not None:
                self.result.errback(error)
            else:
                self.result.callback(count)

        def closeFailed(failure: Failure) -> None:
            self.result.errback(error if error is not None else failure)

        self.file.close().addCallbacks(closed, closeFailed)


class Download(_Transfer):
    """Copies one remote file into a local file object."""

    def __init__(
        self,
        client: FileTransferClient,
        remotePath: bytes,
        localFile: IO[bytes],
        chunkSize: int,
        maxInFlight: int,
    ) -> None:
        super().__init__(client, chunkSize, maxInFlight)
        self.remotePath = remotePath
        self.localFile = localFile
        self.nextOffset = 0
        self.writeOffset = 0
        self.eof: int | None = None
        self.gaps: list[tuple[int, int]] = []
        self.buffered: dict[int, bytes] = {}

    def start(self) -> Deferred[int]:
        """Open the remote file and start; fires with the bytes copied."""
        self.client.openFile(self.remotePath, w.FXF.READ).addCallbacks(
            self._opened, self.result.errback
        )
        return self.result

    def _fill(self) -> None:
        assert self.file is not None
        handle = self.file.handle
        send = self.client._sendRequest
        while self.inFlight < self.maxInFlight and self.error is None:
            if self.gaps:
                offset, length = self.gaps.pop()
            elif self.eof is None:
                offset, length = self.nextOffset, self.chunkSize
                self.nextOffset += length
            else:
                break
            self.inFlight += 1
            send(
                functools.partial(w.Read, handle=handle, offset=offset, length=length),
                functools.partial(self._replied, offset=offset, length=length),
            )
        if self.inFlight == 0:
            if self.error is None and self.eof is not None and self.writeOffset < self.eof:
                self._fail(SFTPError(w.FX.FAILURE, "download ended with data missing"))
            self._finish(self.writeOffset)

    def _replied(self, reply: w.Message, offset: int, length: int) -> None:
        self.inFlight -= 1
        if isinstance(reply, w.Data) and reply.data:
            data = reply.data[:length]  # more than asked would overlap the next chunk
            if len(data) < length:
                self.gaps.append((offset + len(data), length - len(data)))
            if offset == self.writeOffset:
                self._write(data)
            else:
                self.buffered[offset] = data
        elif isinstance(reply, w.Data) or (isinstance(reply, w.Status) and reply.code == w.FX.EOF):
            if self.eof is None or offset < self.eof:
                self.eof = offset
                self.gaps = [gap for gap in self.gaps if gap[0] < offset]
        else:
            self._fail(_replyError(reply))
        self._fill()

    def _write(self, data: bytes) -> None:
        buffered = self.buffered
        try:
            while True:
                self.localFile.write(data)
                self.writeOffset += len(data)
                if self.writeOffset not in buffered:
                    return
                data = buffered.pop(self.writeOffset)
        except Exception as e:
            self._fail(e)


class Upload(_Transfer):
    """Copies a local file object to one remote file."""

    def __init__(
        self,
        client: FileTransferClient,
        localFile: IO[bytes],
        remotePath: bytes,
        chunkSize: int,
        maxInFlight: int,
        attrs: w.FileAttributes | None,
    ) -> None:
        super().__init__(client, chunkSize, maxInFlight)
        self.localFile = localFile
        self.remotePath = remotePath
        self.attrs = attrs or w.FileAttributes()
        self.offset = 0
        self.localDone = False

    def start(self) -> Deferred[int]:
        """Open (create/truncate) the remote file and start; fires with the bytes copied."""
        flags = w.FXF.WRITE | w.FXF.CREAT | w.FXF.TRUNC
        self.client.openFile(self.remotePath, flags, self.attrs).addCallbacks(
            self._opened, self.result.errback
        )
        return self.result

    def _fill(self) -> None:
        assert self.file is not None
        handle = self.file.handle
        send = self.client._sendRequest
        while self.inFlight < self.maxInFlight and self.error is None and not self.localDone:
            try:
                data = self.localFile.read(self.chunkSize)
            except Exception as e:
                self._fail(e)
                break
            if not data:
                self.localDone = True
                break
            offset = self.offset
            self.offset += len(data)
            self.inFlight += 1
            send(functools.partial(w.Write, handle=handle, offset=offset, data=data), self._replied)
        if self.inFlight == 0 and (self.localDone or self.error is not None):
            self._finish(self.offset)

    def _replied(self, reply: w.Message) -> None:
        self.inFlight -= 1
        if not (isinstance(reply, w.Status) and reply.code == w.FX.OK):
            self._fail(_replyError(reply))
        self._fill()
