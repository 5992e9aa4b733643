"""FileTransferClient against scripted replies on a StringTransport."""

from __future__ import annotations

from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import ConnectionLost
from plait.ssh.sftp import FX, FXF, FileTransferClient, SFTPError
from plait.testing import (
    StringTransport,
    assertNoResult,
    failureResultOf,
    flushLoggedErrors,
    successResultOf,
)
from plait.wire.ssh import sftp as w


def _sent(transport: StringTransport) -> list[w.Message]:
    reader = w.SFTPPacketReader()
    reader.receiveData(transport.value())
    transport.clear()
    out = []
    while (m := reader.nextMessage()) is not None:
        out.append(m)
    return out


@pytest.fixture
def wired() -> tuple[FileTransferClient, StringTransport]:
    client = FileTransferClient(extensions={b"mine@example.com": b"1"})
    transport = StringTransport()
    client.makeConnection(transport)
    return client, transport


def test_init_then_queue_until_version(wired: tuple[FileTransferClient, StringTransport]) -> None:
    """INIT goes first; requests made before VERSION are held, then sent in order."""
    client, transport = wired
    ready = client.whenReady()
    d1 = client.realPath(b".")
    d2 = client.getAttrs(b"f")
    (init,) = _sent(transport)
    assert init == w.Init(3, ((b"mine@example.com", b"1"),))
    assertNoResult(ready)
    client.dataReceived(w.encodePacket(w.Version(3, ((b"x@example.com", b"2"),))))
    assert successResultOf(ready) == {b"x@example.com": b"2"}
    assert client.serverVersion == 3
    first, second = _sent(transport)
    assert isinstance(first, w.RealPath) and isinstance(second, w.Stat)
    client.dataReceived(
        w.encodePacket(w.Attrs(second.requestID, w.FileAttributes(size=3)))
        + w.encodePacket(w.Name(first.requestID, (w.NameEntry(b"/home", b"/home"),)))
    )
    assert successResultOf(d1) == b"/home"
    assert successResultOf(d2).size == 3
    assert successResultOf(client.whenReady()) == {b"x@example.com": b"2"}


def _ready(client: FileTransferClient, transport: StringTransport) -> None:
    client.dataReceived(w.encodePacket(w.Version()))
    transport.clear()


def test_status_errors_and_wrong_reply_types(
    wired: tuple[FileTransferClient, StringTransport],
) -> None:
    """A failing STATUS is SFTPError with its code and message; a wrong reply type too."""
    client, transport = wired
    _ready(client, transport)
    d1 = client.removeFile(b"x")
    d2 = client.openFile(b"y", FXF.READ)
    r1, r2 = _sent(transport)
    client.dataReceived(
        w.encodePacket(w.Status(r1.requestID, FX.PERMISSION_DENIED, "nope"))  # type: ignore[attr-defined]
        + w.encodePacket(w.Data(r2.requestID, b"?"))  # type: ignore[attr-defined]
    )
    error = failureResultOf(d1, SFTPError).value
    assert (error.code, error.message) == (FX.PERMISSION_DENIED, "nope")
    assert "PERMISSION_DENIED" in str(error)
    assert failureResultOf(d2, SFTPError).value.code == FX.BAD_MESSAGE


def test_reply_to_no_request_is_ignored(wired: tuple[FileTransferClient, StringTransport]) -> None:
    """A reply with an unknown id is logged and dropped; the session goes on."""
    client, transport = wired
    _ready(client, transport)
    client.dataReceived(w.encodePacket(w.Status(999, FX.OK)))
    assert not transport.disconnecting


def test_broken_stream_loses_connection(wired: tuple[FileTransferClient, StringTransport]) -> None:
    """An oversized or malformed reply ends the session."""
    client, transport = wired
    _ready(client, transport)
    client.dataReceived(b"\xff\xff\xff\xff")
    assert transport.disconnecting


def test_connection_lost_fails_everything(
    wired: tuple[FileTransferClient, StringTransport],
) -> None:
    """Pending requests and whenReady fail with CONNECTION_LOST; later ones NO_CONNECTION."""
    client, _ = wired
    ready = client.whenReady()
    pending = client.realPath(b".")
    client.connectionLost(Failure(ConnectionLost()))
    assert failureResultOf(pending, SFTPError).value.code == FX.CONNECTION_LOST
    assert failureResultOf(ready, SFTPError).value.code == FX.CONNECTION_LOST
    assert failureResultOf(client.whenReady(), SFTPError).value.code == FX.CONNECTION_LOST
    assert failureResultOf(client.removeFile(b"x"), SFTPError).value.code == FX.NO_CONNECTION


def test_get_fails_on_read_error_and_closes(
    wired: tuple[FileTransferClient, StringTransport],
) -> None:
    """A READ failing mid-download fails get() after closing the handle."""
    import io

    client, transport = wired
    _ready(client, transport)
    d = client.get(b"f", io.BytesIO(), chunkSize=4, maxInFlight=2)
    (op,) = _sent(transport)
    client.dataReceived(w.encodePacket(w.Handle(op.requestID, b"H")))  # type: ignore[attr-defined]
    r1, r2 = _sent(transport)
    assert isinstance(r1, w.Read) and (r1.offset, r2.offset) == (0, 4)  # type: ignore[attr-defined]
    client.dataReceived(
        w.encodePacket(w.Data(r1.requestID, b"abcd"))  # type: ignore[attr-defined]
        + w.encodePacket(w.Status(r2.requestID, FX.FAILURE, "disk on fire"))  # type: ignore[attr-defined]
    )
    (r3,) = _sent(transport)  # sent when the first reply freed a slot
    assert isinstance(r3, w.Read) and r3.offset == 8
    assertNoResult(d)
    client.dataReceived(w.encodePacket(w.Status(r3.requestID, FX.EOF)))
    (close,) = _sent(transport)
    assert isinstance(close, w.Close) and close.handle == b"H"
    assertNoResult(d)
    client.dataReceived(w.encodePacket(w.Status(close.requestID, FX.OK)))
    assert failureResultOf(d, SFTPError).value.message == "disk on fire"


def test_put_stops_at_write_error(wired: tuple[FileTransferClient, StringTransport]) -> None:
    """A WRITE refused mid-upload stops reading the local file and fails put()."""
    import io

    client, transport = wired
    _ready(client, transport)
    local = io.BytesIO(b"x" * 100)
    d = client.put(local, b"f", chunkSize=10, maxInFlight=3)
    (op,) = _sent(transport)
    assert isinstance(op, w.Open) and op.pflags == FXF.WRITE | FXF.CREAT | FXF.TRUNC
    client.dataReceived(w.encodePacket(w.Handle(op.requestID, b"H")))
    writes: list[Any] = _sent(transport)
    assert [m.offset for m in writes] == [0, 10, 20]
    client.dataReceived(w.encodePacket(w.Status(writes[0].requestID, FX.FAILURE, "quota")))
    assert _sent(transport) == []  # no more writes after an error
    client.dataReceived(
        w.encodePacket(w.Status(writes[1].requestID, FX.OK))
        + w.encodePacket(w.Status(writes[2].requestID, FX.OK))
    )
    (close,) = _sent(transport)
    assert isinstance(close, w.Close)
    client.dataReceived(w.encodePacket(w.Status(close.requestID, FX.OK)))
    assert failureResultOf(d, SFTPError).value.message == "quota"
    assert local.tell() == 30


def test_chunk_parameters_checked(wired: tuple[FileTransferClient, StringTransport]) -> None:
    """A zero chunk size or window is refused up front."""
    import io

    client, _ = wired
    with pytest.raises(ValueError):
        client.get(b"f", io.BytesIO(), chunkSize=0)
    with pytest.raises(ValueError):
        client.put(io.BytesIO(), b"f", maxInFlight=0)
    assert flushLoggedErrors() == []
