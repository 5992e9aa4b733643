"""The client's side of a session channel: ask for a PTY, a shell, a command or a subsystem,
and learn how the program ended (``exit-status``/``exit-signal``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plait.defer import Deferred, Failure
from plait.ssh._channel import SSHChannel
from plait.wire.ssh.connection import (
    EnvRequest,
    ExecRequest,
    ExitSignal,
    ExitStatus,
    PtyRequest,
    SignalRequest,
    SubsystemRequest,
    WindowChange,
)

__all__ = ["SSHClientSession", "openSession"]


class SSHClientSession(SSHChannel):
    """A client ``session`` channel.

    ``opened`` fires with the session once the server confirms it (or fails with
    ``ChannelOpenError``); ``finished`` fires when the channel has closed, with the
    ``exitStatus`` (int) or the ``ExitSignal``, or None if the server sent neither. Output goes
    to an attached ``protocol`` (``connectProtocolToChannel``) or ``dataReceived`` overrides;
    stderr to ``stderrReceived`` (a callable) or ``extReceived`` overrides.
    """

    name = b"session"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.opened: Deferred[SSHClientSession] = Deferred()
        self.finished: Deferred[int | ExitSignal | None] = Deferred()
        self.exitStatus: int | None = None
        self.exitSignal: ExitSignal | None = None
        self.stderrReceived: Callable[[bytes], None] | None = None
        self.received: list[bytes] = []
        self.receivedStderr: list[bytes] = []

    def channelOpen(self, specificData: bytes) -> None:
        """Connect an attached protocol and fire ``opened``."""
        super().channelOpen(specificData)
        self.opened.callback(self)

    def openFailed(self, reason: Failure | BaseException) -> None:
        """Fail ``opened``."""
        failure = reason if isinstance(reason, Failure) else Failure(reason)
        self.opened.errback(failure)

    def dataReceived(self, data: bytes) -> None:
        """To the attached protocol, or kept in ``received``."""
        if self.protocol is not None:
            self.protocol.dataReceived(data)
        else:
            self.received.append(data)

    def extReceived(self, dataType: int, data: bytes) -> None:
        """stderr to ``stderrReceived`` (or kept in ``receivedStderr`` when there is none)."""
        if self.stderrReceived is not None:
            self.stderrReceived(data)
        else:
            self.receivedStderr.append(data)

    def closed(self) -> None:
        """Fire ``finished`` with how the program ended."""
        super().closed()
        result: int | ExitSignal | None = (
            self.exitSignal if self.exitSignal is not None else self.exitStatus
        )
        self.finished.callback(result)

    def request_exit_status(self, data: bytes) -> bool:
        """The program exited with a status."""
        self.exitStatus = ExitStatus.fromData(data).status
        return True

    def request_exit_signal(self, data: bytes) -> bool:
        """The program was killed by a signal."""
        self.exitSignal = ExitSignal.fromData(data)
        return True

    def request_xon_xoff(self, data: bytes) -> bool:
        """Whether we may do flow control locally (noted, nothing to do)."""
        return True

    # -- requests ---------------------------------------------------------------------------

    def _request(self, requestType: bytes, data: bytes, wantReply: bool = True) -> Any:
        assert self.conn is not None, "the session is not open"
        return self.conn.sendRequest(self, requestType, data, wantReply=wantReply)

    def requestPty(
        self,
        term: bytes = b"xterm",
        columns: int = 80,
        rows: int = 24,
        modes: tuple[tuple[int, int], ...] = (),
        width: int = 0,
        height: int = 0,
    ) -> Deferred[bytes]:
        """Ask for a PTY (``pty-req``)."""
        result: Deferred[bytes] = self._request(
            b"pty-req", PtyRequest(term, columns, rows, width, height, modes).toData()
        )
        return result

    def setEnv(self, name: bytes, value: bytes) -> Deferred[bytes]:
        """Ask for an environment variable (``env``; servers allow few)."""
        result: Deferred[bytes] = self._request(b"env", EnvRequest(name, value).toData())
        return result

    def shell(self) -> Deferred[bytes]:
        """Start the user's shell."""
        result: Deferred[bytes] = self._request(b"shell", b"")
        return result

    def execCommand(self, command: bytes) -> Deferred[bytes]:
        """Run ``command``."""
        result: Deferred[bytes] = self._request(b"exec", ExecRequest(command).toData())
        return result

    def subsystem(self, name: bytes) -> Deferred[bytes]:
        """Start a subsystem (``sftp``)."""
        result: Deferred[bytes] = self._request(b"subsystem", SubsystemRequest(name).toData())
        return result

    def windowChange(self, columns: int, rows: int, width: int = 0, height: int = 0) -> None:
        """Tell the server our terminal's new size."""
        self._request(b"window-change", WindowChange(columns, rows, width, height).toData(), False)

    def signal(self, name: str) -> None:
        """Send a signal (``INT``, ``TERM``...) to the program."""
        self._request(b"signal", SignalRequest(name).toData(), False)


def openSession(conn: Any, session: SSHClientSession | None = None) -> Deferred[SSHClientSession]:
    """Open a session channel on the client connection ``conn``; fires with it once open."""
    channel = session if session is not None else SSHClientSession()
    conn.openChannel(channel)
    return channel.opened
