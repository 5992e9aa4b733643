"""Generic file descriptors: addReader/addWriter with pipes, and the descriptor error boundary."""

from __future__ import annotations

import os
from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import ConnectionDone, ConnectionLost
from plait.reactor import PosixReactorBase
from plait.testing import flushLoggedErrors

from .conftest import runReactor


class PipeReader:
    """Reads a pipe until EOF, then reports ConnectionDone."""

    def __init__(self, fd: int, onLost: Any = None) -> None:
        self.fd = fd
        self.data = b""
        self.lost: list[Failure] = []
        self.onLost = onLost

    def fileno(self) -> int:
        return self.fd

    def doRead(self) -> BaseException | None:
        chunk = os.read(self.fd, 65536)
        if not chunk:
            return ConnectionDone("EOF")
        self.data += chunk
        return None

    def connectionLost(self, reason: Failure) -> None:
        self.lost.append(reason)
        os.close(self.fd)
        self.fd = -1
        if self.onLost is not None:
            self.onLost()

    def logPrefix(self) -> str:
        return "PipeReader"


class PipeWriter:
    """Writes a payload to a pipe, then closes it."""

    def __init__(self, reactor: PosixReactorBase, fd: int, payload: bytes) -> None:
        self.reactor = reactor
        self.fd = fd
        self.payload = payload
        self.lost: list[Failure] = []
        os.set_blocking(fd, False)

    def fileno(self) -> int:
        return self.fd

    def doWrite(self) -> BaseException | None:
        sent = os.write(self.fd, self.payload[:4096])
        self.payload = self.payload[sent:]
        if not self.payload:
            self.reactor.removeWriter(self)
            os.close(self.fd)
            self.fd = -1
        return None

    def connectionLost(self, reason: Failure) -> None:
        self.lost.append(reason)

    def logPrefix(self) -> str:
        return "PipeWriter"


def test_pipe_round_trip(reactor: PosixReactorBase) -> None:
    """A writer and a reader on a pipe move 1 MB; EOF reaches the reader as ConnectionDone."""
    r, w = os.pipe()
    payload = os.urandom(1 << 20)
    reader = PipeReader(r, onLost=reactor.stop)
    writer = PipeWriter(reactor, w, payload)
    reactor.addReader(reader)
    reactor.addWriter(writer)
    assert reader in reactor.getReaders() and writer in reactor.getWriters()
    runReactor(reactor)
    assert reader.data == payload
    assert len(reader.lost) == 1 and reader.lost[0].check(ConnectionDone)
    assert reactor.getReaders() == [] and reactor.getWriters() == []


def test_hangup_reaches_reader(reactor: PosixReactorBase) -> None:
    """Closing the write end makes the reader's doRead run and see EOF."""
    r, w = os.pipe()
    reader = PipeReader(r, onLost=reactor.stop)
    reactor.addReader(reader)
    reactor.callLater(0.01, os.close, w)
    runReactor(reactor)
    assert len(reader.lost) == 1 and reader.lost[0].check(ConnectionDone)


class Exploding(PipeReader):
    def doRead(self) -> BaseException | None:
        raise ZeroDivisionError("doRead")


def test_raising_doread_loses_only_that_descriptor(reactor: PosixReactorBase) -> None:
    """An exception in doRead is logged and loses that descriptor; others keep working."""
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    bad = Exploding(r1)
    good = PipeReader(r2)
    reactor.addReader(bad)
    reactor.addReader(good)
    os.write(w1, b"x")
    reactor.callLater(0.02, os.write, w2, b"still here")
    reactor.callLater(0.05, reactor.stop)
    runReactor(reactor)
    assert len(bad.lost) == 1 and bad.lost[0].check(ZeroDivisionError)
    assert good.data == b"still here"
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1
    # good was still watched at shutdown: disconnectAll lost it with ConnectionLost
    assert len(good.lost) == 1 and good.lost[0].check(ConnectionLost)
    os.close(w1)
    os.close(w2)


def test_remove_reader_and_remove_all(reactor: PosixReactorBase) -> None:
    """removeReader stops doRead calls; removeAll returns (and forgets) everything watched."""
    r, w = os.pipe()
    reader = PipeReader(r)
    reactor.addReader(reader)
    reactor.addReader(reader)
    reactor.removeReader(reader)
    reactor.removeReader(reader)
    os.write(w, b"ignored")
    reactor.iterate(0.01)
    assert reader.data == b""
    reactor.addReader(reader)
    writer = PipeWriter(reactor, w, b"")
    reactor.addWriter(writer)
    removed = reactor.removeAll()
    assert {id(x) for x in removed} == {id(reader), id(writer)}
    assert reactor.getReaders() == [] and reactor.getWriters() == []
    os.close(r)
    os.close(w)


def test_closed_descriptor_rejected(reactor: PosixReactorBase) -> None:
    """Adding a descriptor whose fileno() is -1 raises ValueError."""
    reader = PipeReader(-1)
    with pytest.raises(ValueError):
        reactor.addReader(reader)


class BrokenPipeWriter(PipeWriter):
    """Reports the error of a write to a pipe whose reader has gone."""

    def doWrite(self) -> BaseException | None:
        try:
            os.write(self.fd, b"x" * 4096)
        except OSError as e:
            return e
        return None

    def connectionLost(self, reason: Failure) -> None:
        self.lost.append(reason)
        os.close(self.fd)
        self.fd = -1
        self.reactor.stop()


def test_writer_sees_hangup(reactor: PosixReactorBase) -> None:
    """A writer whose pipe reader closes gets doWrite, and its returned error loses it."""
    r, w = os.pipe()
    writer = BrokenPipeWriter(reactor, w, b"")
    reactor.addWriter(writer)
    reactor.callLater(0.01, os.close, r)
    runReactor(reactor)
    assert len(writer.lost) == 1 and writer.lost[0].check(BrokenPipeError)
    assert flushLoggedErrors() == []


class RaisingWriter(PipeWriter):
    def doWrite(self) -> BaseException | None:
        raise ZeroDivisionError("doWrite")

    def connectionLost(self, reason: Failure) -> None:
        self.lost.append(reason)
        self.reactor.stop()


def test_raising_dowrite_is_logged(reactor: PosixReactorBase) -> None:
    """An exception in doWrite is logged and the writer lost with it."""
    r, w = os.pipe()
    writer = RaisingWriter(reactor, w, b"")
    reactor.addWriter(writer)
    runReactor(reactor)
    assert len(writer.lost) == 1 and writer.lost[0].check(ZeroDivisionError)
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1
    assert reactor.getWriters() == []
    os.close(r)
    os.close(w)


class HalfCloser(PipeReader):
    """A reader/writer on a socket that can lose its read side alone."""

    def __init__(self, reactor: PosixReactorBase, sock: Any) -> None:
        super().__init__(sock.fileno())
        self.reactor = reactor
        self.sock = sock
        self.readLost: list[Failure] = []

    def doRead(self) -> BaseException | None:
        if not self.sock.recv(4096):
            return ConnectionDone("peer shut down writing")
        return None

    def readConnectionLost(self, reason: Failure) -> None:
        self.readLost.append(reason)
        self.reactor.addWriter(self)

    def doWrite(self) -> BaseException | None:
        self.sock.send(b"still writing")
        self.reactor.removeWriter(self)
        self.reactor.stop()
        return None

    def connectionLost(self, reason: Failure) -> None:
        self.lost.append(reason)


def test_half_close(reactor: PosixReactorBase) -> None:
    """ConnectionDone from doRead calls readConnectionLost; the descriptor may still write."""
    import socket

    a, b = socket.socketpair()
    a.setblocking(False)
    closer = HalfCloser(reactor, a)
    reactor.addReader(closer)
    b.shutdown(socket.SHUT_WR)
    runReactor(reactor)
    assert len(closer.readLost) == 1 and closer.readLost[0].check(ConnectionDone)
    assert closer.lost == []
    assert b.recv(100) == b"still writing"
    a.close()
    b.close()
