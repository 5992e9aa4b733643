"""The connection error tree: errno -> class, messages, the three levels of §4.3."""

from __future__ import annotations

import builtins
import errno
import pickle
import socket

import pytest

from plait import protocol
from plait.defer import Failure
from plait.protocol import (
    BadFileError,
    CannotListenError,
    ConnectBindError,
    ConnectError,
    ConnectionAborted,
    ConnectionClosed,
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    NoRouteError,
    ProcessDone,
    ProcessTerminated,
    ServiceNameUnknownError,
    TCPTimedOutError,
    TimeoutError,
    UnknownHostError,
    UserError,
    connectionDone,
    connectionLost,
    getConnectError,
)

ERRNO_TABLE = [
    (errno.ECONNREFUSED, ConnectionRefusedError),
    (errno.ETIMEDOUT, TCPTimedOutError),
    (errno.EHOSTUNREACH, NoRouteError),
    (errno.ENETUNREACH, NoRouteError),
    (errno.EHOSTDOWN, NoRouteError),
    (errno.ENETDOWN, NoRouteError),
    (errno.EADDRINUSE, ConnectBindError),
    (errno.EADDRNOTAVAIL, ConnectBindError),
    (errno.ENOENT, BadFileError),
    (errno.ENOTSOCK, BadFileError),
    (errno.EACCES, ConnectError),
    (errno.EPERM, ConnectError),
]


@pytest.mark.parametrize(("number", "klass"), ERRNO_TABLE)
def test_errno_chooses_the_class(number: int, klass: type[ConnectError]) -> None:
    """An OSError's errno picks the portable class, which keeps the errno and message."""
    err = getConnectError(OSError(number, "os says no"))
    assert type(err) is klass
    assert err.osError == number
    assert err.errno == number
    assert err.string == "os says no"


@pytest.mark.parametrize(("number", "klass"), ERRNO_TABLE)
def test_errno_tuple_chooses_the_class(number: int, klass: type[ConnectError]) -> None:
    """An (errno, string) pair is mapped like the exception carrying it."""
    err = getConnectError((number, "text"))
    assert type(err) is klass
    assert (err.osError, err.string) == (number, "text")


def test_builtin_connection_refused_maps_by_errno() -> None:
    """The builtin ConnectionRefusedError (what connect raises) maps to plait's class."""
    err = getConnectError(builtins.ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    assert isinstance(err, ConnectionRefusedError)
    assert err.errno == errno.ECONNREFUSED


def test_gaierror_is_unknown_host() -> None:
    """A name-resolution failure becomes UnknownHostError with the resolver's code."""
    err = getConnectError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert type(err) is UnknownHostError
    assert err.osError == socket.EAI_NONAME


def test_gaierror_for_a_service_is_service_name_unknown() -> None:
    """An unknown service name (EAI_SERVICE) becomes ServiceNameUnknownError."""
    err = getConnectError(socket.gaierror(socket.EAI_SERVICE, "Servname not supported"))
    assert type(err) is ServiceNameUnknownError


def test_socket_timeout_without_errno_is_tcp_timeout() -> None:
    """A bare socket timeout (no errno) is a TCPTimedOutError."""
    err = getConnectError(builtins.TimeoutError("timed out"))
    assert type(err) is TCPTimedOutError
    assert err.osError is None


def test_other_exception_is_plain_connect_error() -> None:
    """Something that is not an OSError becomes a ConnectError carrying its text."""
    err = getConnectError(ValueError("weird"))
    assert type(err) is ConnectError
    assert err.osError is None
    assert "weird" in str(err)


def test_connect_error_passes_through() -> None:
    """A ConnectError given to getConnectError is returned as is."""
    original = NoRouteError(errno.EHOSTUNREACH, "no route")
    assert getConnectError(original) is original


def test_connect_error_str_has_all_three_levels() -> None:
    """The message names the class's meaning, the errno and the OS's text."""
    text = str(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))
    assert text == (
        f"Connection was refused by other side: {errno.ECONNREFUSED}: Connection refused."
    )
    assert str(ConnectError()) == "An error occurred while connecting."


def test_connect_error_survives_pickling() -> None:
    """A ConnectError pickles with its errno and string (args mirror the constructor)."""
    err = pickle.loads(pickle.dumps(TCPTimedOutError(errno.ETIMEDOUT, "slow")))
    assert type(err) is TCPTimedOutError
    assert (err.osError, err.string) == (errno.ETIMEDOUT, "slow")


def test_shadowing_names_are_connect_errors() -> None:
    """ConnectionRefusedError and TimeoutError are Twisted's, not the builtins."""
    assert protocol.ConnectionRefusedError is not builtins.ConnectionRefusedError
    assert not issubclass(ConnectionRefusedError, OSError)
    assert issubclass(ConnectionRefusedError, ConnectError)
    assert issubclass(TimeoutError, UserError)
    assert not issubclass(TimeoutError, builtins.TimeoutError)


def test_dns_lookup_error_is_an_ioerror() -> None:
    """DNSLookupError is an IOError/OSError, as in Twisted."""
    err = DNSLookupError("example.invalid")
    assert isinstance(err, OSError)
    assert str(err) == "DNS lookup failed: example.invalid."


@pytest.mark.parametrize(
    ("interface", "port", "where"),
    [
        ("127.0.0.1", 8080, "127.0.0.1:8080"),
        ("", 8080, "any:8080"),
        (None, 25, "any:25"),
        ("::1", 443, "[::1]:443"),
        (None, "/tmp/sock", "/tmp/sock"),
    ],
)
def test_cannot_listen_error_names_address_and_reason(
    interface: str | None, port: int | str, where: str
) -> None:
    """CannotListenError's text names where it tried to listen and what the OS said."""
    reason = OSError(errno.EADDRINUSE, "Address already in use")
    err = CannotListenError(interface, port, reason)
    assert str(err) == f"Couldn't listen on {where}: {reason}."
    assert err.osError == errno.EADDRINUSE == err.errno
    assert (err.interface, err.port, err.socketError) == (interface, port, reason)


def test_connection_lost_keeps_the_os_error() -> None:
    """A ConnectionLost given the OSError reports its errno and text."""
    reset = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    err = ConnectionLost(reset)
    assert err.osError == errno.ECONNRESET == err.errno
    assert "Connection reset by peer" in str(err)
    assert ConnectionLost().osError is None


def test_connection_closed_hierarchy() -> None:
    """Clean and unclean ends share ConnectionClosed; aborting is a kind of loss."""
    assert issubclass(ConnectionDone, ConnectionClosed)
    assert issubclass(ConnectionLost, ConnectionClosed)
    assert issubclass(ConnectionAborted, ConnectionLost)
    assert not issubclass(ConnectionDone, ConnectionLost)
    assert str(ConnectionDone()) == "Connection was closed cleanly."


def test_failure_constants() -> None:
    """connectionDone/connectionLost are Failures wrapping the matching exceptions."""
    assert isinstance(connectionDone, Failure)
    assert connectionDone.check(ConnectionDone) is ConnectionDone
    assert connectionLost.check(ConnectionDone) is None
    assert connectionLost.check(ConnectionLost) is ConnectionLost


def test_process_done_and_terminated() -> None:
    """Process exit reasons carry the exit code, signal and raw status."""
    done = ProcessDone(0)
    assert (done.exitCode, done.signal, done.status) == (0, None, 0)
    assert isinstance(done, ConnectionDone)
    code = ProcessTerminated(exitCode=3, status=3 << 8)
    assert (code.exitCode, code.signal, code.status) == (3, None, 768)
    assert "exit code 3" in str(code)
    killed = ProcessTerminated(signal=9, status=9)
    assert "signal 9" in str(killed)
    assert isinstance(killed, ConnectionLost)


@pytest.mark.parametrize(
    "err",
    [
        CannotListenError("127.0.0.1", 80, OSError(errno.EACCES, "Permission denied")),
        ConnectionLost(OSError(errno.ECONNRESET, "reset")),
        ConnectionDone(),
        ProcessDone(0),
        ProcessTerminated(exitCode=2, signal=None, status=512),
        protocol.ConnectingCancelledError(protocol.IPv4Address("TCP", "10.0.0.1", 80)),
        DNSLookupError("example.invalid"),
        UnknownHostError(socket.EAI_NONAME, "Name or service not known"),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_pickle_with_their_message(err: Exception) -> None:
    """Every error survives pickling (e.g. across processes) with the same class and text."""
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert str(copy) == str(err)
    assert repr(copy.args) == repr(err.args)
    assert getattr(copy, "errno", None) == getattr(err, "errno", None)
