"""The connection error tree: three levels of precision (paper §4.3).

A connection attempt that fails delivers a ``Failure`` (level one: it failed) wrapping an
exception whose class says how, portably (level two: ``ConnectionRefusedError``,
``NoRouteError``...), and whose ``.osError``/``.errno`` is what the operating system said
(level three). ``getConnectError`` chooses the class from the OS error.
"""

from __future__ import annotations

import builtins
import errno
import socket

from plait.defer import Failure

__all__ = [
    "AlreadyListened",
    "BadFileError",
    "BindError",
    "CannotListenError",
    "ConnectBindError",
    "ConnectError",
    "ConnectingCancelledError",
    "ConnectionAborted",
    "ConnectionClosed",
    "ConnectionDone",
    "ConnectionFdescWentAway",
    "ConnectionLost",
    "ConnectionRefusedError",
    "DNSLookupError",
    "FileDescriptorOverrun",
    "MessageLengthError",
    "MulticastJoinError",
    "NoRouteError",
    "NotConnectingError",
    "NotListeningError",
    "ProcessDone",
    "ProcessExitedAlready",
    "ProcessTerminated",
    "SSLError",
    "ServiceNameUnknownError",
    "TCPTimedOutError",
    "TimeoutError",
    "UnknownHostError",
    "UserError",
    "connectionDone",
    "connectionLost",
    "getConnectError",
]


def _describe(description: str, details: tuple[object, ...]) -> str:
    """``"<description>: <detail>: <detail>."``, skipping empty details."""
    parts = [description, *(str(d) for d in details if d is not None and d != "")]
    return ": ".join(parts) + "."


def _errnoOf(details: tuple[object, ...]) -> int | None:
    """The OS error number carried by the first ``OSError`` among ``details``, if any."""
    for detail in details:
        if isinstance(detail, OSError) and detail.errno is not None:
            return detail.errno
    return None


# --- listening -----------------------------------------------------------------------------


class BindError(Exception):
    """An error occurred binding to an interface."""

    description = "An error occurred binding to an interface"

    def __str__(self) -> str:
        return _describe(self.description, self.args)


class CannotListenError(BindError):
    """Listening on ``interface``/``port`` failed; ``socketError`` is the OS's reason.

    ``interface`` is the host ('' or None for every interface) and ``port`` the port number, or
    the path of a Unix socket.
    """

    def __init__(self, interface: str | None, port: int | str | bytes, socketError: object) -> None:
        super().__init__(interface, port, socketError)
        self.interface = interface
        self.port = port
        self.socketError = socketError

    @property
    def osError(self) -> int | None:
        """The OS error number, when ``socketError`` is an ``OSError`` that has one."""
        return _errnoOf((self.socketError,))

    @property
    def errno(self) -> int | None:
        """Alias of ``osError``."""
        return self.osError

    def __str__(self) -> str:
        port = self.port.decode(errors="replace") if isinstance(self.port, bytes) else self.port
        if not self.interface:
            where = str(port) if isinstance(port, str) else f"any:{port}"
        elif ":" in self.interface:
            where = f"[{self.interface}]:{port}"
        else:
            where = f"{self.interface}:{port}"
        return f"Couldn't listen on {where}: {self.socketError}."


class AlreadyListened(Exception):
    """An attempt was made to listen on a file descriptor which can only be listened on once."""


class MulticastJoinError(Exception):
    """Joining a multicast group failed."""


class MessageLengthError(Exception):
    """A datagram was too long to send or receive."""


# --- connecting ----------------------------------------------------------------------------


class ConnectError(Exception):
    """A connection attempt failed.

    ``osError`` (alias ``errno``) is the OS error number when the OS reported one; ``string``
    is a human description (the OS's ``strerror`` or what the framework knows).
    """

    description = "An error occurred while connecting"

    def __init__(self, osError: int | None = None, string: str = "") -> None:
        super().__init__(osError, string)
        self.osError = osError
        self.string = string

    @property
    def errno(self) -> int | None:
        """Alias of ``osError``: the number the operating system reported."""
        return self.osError

    def __str__(self) -> str:
        return _describe(self.description, (self.osError, self.string))


class ConnectBindError(ConnectError):
    """Couldn't bind the local end of the connection."""

    description = "Couldn't bind"


class UnknownHostError(ConnectError):
    """The host name couldn't be looked up."""

    description = "Hostname couldn't be looked up"


class NoRouteError(ConnectError):
    """There is no route to the host (host or network unreachable)."""

    description = "No route to host"


class ConnectionRefusedError(ConnectError):
    """The other side refused the connection.

    Deliberately shadows the builtin of the same name (Twisted's API); it is *not* a subclass
    of ``builtins.ConnectionRefusedError``. Import it qualified if both are needed.
    """

    description = "Connection was refused by other side"


class TCPTimedOutError(ConnectError):
    """The TCP connection attempt timed out (the OS gave up)."""

    description = "TCP connection timed out"


class BadFileError(ConnectError):
    """The file used for a Unix socket is no good (missing, or not a socket)."""

    description = "File used for UNIX socket is no good"


class ServiceNameUnknownError(ConnectError):
    """The service name given as the port is unknown."""

    description = "Service name given as port is unknown"


class UserError(ConnectError):
    """The user (the program) aborted the connection attempt."""

    description = "User aborted connection"


class TimeoutError(UserError):
    """The connection attempt took longer than the timeout the program gave.

    Deliberately shadows the builtin of the same name (Twisted's API): it means the
    framework-level connect timeout, not ``ETIMEDOUT`` (that is ``TCPTimedOutError``).
    """

    description = "User timeout caused connection failure"


class SSLError(ConnectError):
    """An SSL/TLS error occurred while connecting."""

    description = "An SSL error occurred"


class DNSLookupError(IOError):
    """A DNS lookup failed (an ``OSError``, as in Twisted)."""

    def __str__(self) -> str:
        return _describe("DNS lookup failed", self.args)


class ConnectingCancelledError(Exception):
    """The connection attempt to ``address`` was cancelled (e.g. its Deferred was cancelled)."""

    def __init__(self, address: object) -> None:
        super().__init__(address)
        self.address = address


class NotConnectingError(RuntimeError):
    """The connector was not connecting when it was asked to stop connecting."""


class NotListeningError(RuntimeError):
    """The port was not listening when it was asked to stop listening."""


def _errnoTable() -> dict[int, type[ConnectError]]:
    table: dict[int, type[ConnectError]] = {}
    names: dict[type[ConnectError], tuple[str, ...]] = {
        ConnectionRefusedError: ("ECONNREFUSED", "WSAECONNREFUSED"),
        TCPTimedOutError: ("ETIMEDOUT", "WSAETIMEDOUT"),
        NoRouteError: (
            "EHOSTUNREACH",
            "ENETUNREACH",
            "EHOSTDOWN",
            "ENETDOWN",
            "WSAEHOSTUNREACH",
            "WSAENETUNREACH",
        ),
        ConnectBindError: ("EADDRINUSE", "EADDRNOTAVAIL", "WSAEADDRINUSE", "WSAEADDRNOTAVAIL"),
        BadFileError: ("ENOENT", "ENOTSOCK"),
    }
    for klass, errnames in names.items():
        for name in errnames:
            number = getattr(errno, name, None)
            if isinstance(number, int):
                table.setdefault(number, klass)
    return table


_ERRNO_CLASSES = _errnoTable()


def getConnectError(e: BaseException | tuple[int | None, str]) -> ConnectError:
    """The ``ConnectError`` subclass instance describing a failed connect.

    ``e`` is the exception the OS call raised (an ``OSError``, ``socket.gaierror``...) or an
    ``(errno, string)`` pair. The class is chosen from the errno (``ECONNREFUSED`` ->
    ``ConnectionRefusedError``, ``ETIMEDOUT`` -> ``TCPTimedOutError``, ``EHOSTUNREACH`` and
    ``ENETUNREACH`` -> ``NoRouteError``, ``EADDRINUSE`` -> ``ConnectBindError``, ``ENOENT`` ->
    ``BadFileError``); name-resolution errors become ``UnknownHostError`` (or
    ``ServiceNameUnknownError`` for an unknown service); anything else a plain ``ConnectError``
    that still carries the errno.
    """
    if isinstance(e, ConnectError):
        return e
    if isinstance(e, tuple):
        number, string = e
    elif isinstance(e, OSError):
        number, string = e.errno, e.strerror or str(e)
        if isinstance(e, socket.gaierror):
            if number == socket.EAI_SERVICE:
                return ServiceNameUnknownError(number, string)
            return UnknownHostError(number, string)
        if isinstance(e, socket.herror):
            return UnknownHostError(number, string)
        if number is None and isinstance(e, builtins.TimeoutError):
            return TCPTimedOutError(None, string)
    else:
        return ConnectError(None, str(e))
    if number is None:
        return ConnectError(None, string)
    return _ERRNO_CLASSES.get(number, ConnectError)(number, string)


# --- connection loss -----------------------------------------------------------------------


class ConnectionClosed(Exception):
    """The connection was closed, whether cleanly or non-cleanly.

    Arguments are details for the message. Pass the ``OSError`` that ended the connection as
    an argument to keep what the OS said: ``.osError``/``.errno`` then report its number.
    """

    description = "Connection was closed, whether cleanly or non-cleanly"

    @property
    def osError(self) -> int | None:
        """The OS error number of the first ``OSError`` argument, if any."""
        return _errnoOf(self.args)

    @property
    def errno(self) -> int | None:
        """Alias of ``osError``."""
        return self.osError

    def __str__(self) -> str:
        return _describe(self.description, self.args)


class ConnectionLost(ConnectionClosed):
    """The connection to the other side was lost in a non-clean fashion."""

    description = "Connection to the other side was lost in a non-clean fashion"


class ConnectionAborted(ConnectionLost):
    """The connection was aborted locally (``abortConnection``)."""

    description = "Connection was aborted locally using ITCPTransport.abortConnection"


class ConnectionDone(ConnectionClosed):
    """The connection was closed cleanly."""

    description = "Connection was closed cleanly"


class FileDescriptorOverrun(ConnectionLost):
    """More file descriptors were received than the protocol could take; the connection is lost."""

    description = (
        "A mis-use of IUNIXTransport.sendFileDescriptor caused the connection to be closed"
    )


class ConnectionFdescWentAway(ConnectionLost):
    """The file descriptor of the connection went away (was closed under the transport)."""

    description = "The file descriptor went away"


class ProcessDone(ConnectionDone):
    """A child process exited with status 0; ``status`` is the raw wait status."""

    def __init__(self, status: int | None) -> None:
        super().__init__(status)
        self.exitCode = 0
        self.signal: int | None = None
        self.status = status

    def __str__(self) -> str:
        return "A process has ended without apparent errors: process finished with exit code 0."


class ProcessTerminated(ConnectionLost):
    """A child process ended with a non-zero exit code or by a signal."""

    def __init__(
        self, exitCode: int | None = None, signal: int | None = None, status: int | None = None
    ) -> None:
        super().__init__(exitCode, signal, status)
        self.exitCode = exitCode
        self.signal = signal
        self.status = status

    def __str__(self) -> str:
        how = []
        if self.exitCode is not None:
            how.append(f"process ended with exit code {self.exitCode}")
        if self.signal is not None:
            how.append(f"process ended by signal {self.signal}")
        detail = " and ".join(how) or "process ended"
        return f"A process has ended with a probable error condition: {detail}."


class ProcessExitedAlready(Exception):
    """The process has already exited; the operation (e.g. ``signalProcess``) is impossible."""


# Shared Failure constants: the usual reasons for ``connectionLost``.
connectionDone: Failure = Failure(ConnectionDone())
connectionLost: Failure = Failure(ConnectionLost())
