"""Protocols, factories, transports' interfaces, addresses and connection errors (paper §4).

A ``Protocol`` receives events from a transport (``connectionMade``, ``dataReceived``,
``connectionLost``) and makes requests of it (``write``, ``loseConnection``); a ``Factory``
builds one protocol per connection. The same events come from TCP, TLS, Unix and in-memory
transports (§4.4), and a ``ProtocolWrapper`` can stand between the two to throttle, limit or
encrypt without either side knowing.

Error tree
----------
Connection errors keep the paper's three levels (§4.3): a ``Failure`` says *that* it failed,
the exception class says *how* (portably), and ``.osError``/``.errno`` says *what the OS said*.
``getConnectError(exc)`` picks the class from the errno::

    Exception
    +-- BindError                     binding to an interface failed
    |   +-- CannotListenError         (interface, port, socketError); .osError
    +-- ConnectError                  (osError=None, string=""); .osError, alias .errno
    |   +-- ConnectBindError          EADDRINUSE, EADDRNOTAVAIL
    |   +-- UnknownHostError          name resolution failed (socket.gaierror, herror)
    |   +-- NoRouteError              EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN
    |   +-- ConnectionRefusedError    ECONNREFUSED
    |   +-- TCPTimedOutError          ETIMEDOUT (the OS gave up)
    |   +-- BadFileError              ENOENT, ENOTSOCK (Unix socket path)
    |   +-- ServiceNameUnknownError   unknown service name as port (EAI_SERVICE)
    |   +-- UserError                 the program aborted the attempt
    |   |   +-- TimeoutError          the program's connect timeout expired
    |   +-- SSLError                  TLS failed while connecting
    +-- ConnectingCancelledError      (address): the attempt's Deferred was cancelled
    +-- ConnectionClosed              the connection ended; .osError from an OSError argument
    |   +-- ConnectionDone            ... cleanly
    |   |   +-- ProcessDone           (status): a child exited with 0
    |   +-- ConnectionLost            ... not cleanly
    |       +-- ConnectionAborted     abortConnection() was called
    |       +-- ConnectionFdescWentAway
    |       +-- FileDescriptorOverrun
    |       +-- ProcessTerminated     (exitCode, signal, status): non-zero exit or a signal
    +-- AlreadyListened
    +-- MessageLengthError            a datagram too long
    +-- MulticastJoinError
    +-- ProcessExitedAlready
    OSError
    +-- DNSLookupError                a host name lookup failed (an IOError, as in Twisted)
    RuntimeError
    +-- NotConnectingError            stopConnecting() with no attempt in progress
    +-- NotListeningError             stopListening() on a port that is not listening

``connectionDone`` and ``connectionLost`` are shared ``Failure``s of ``ConnectionDone()`` and
``ConnectionLost()``, the usual ``reason`` of ``connectionLost``.

``ConnectionRefusedError`` and ``TimeoutError`` deliberately shadow the builtins of the same
name: they are Twisted's API, and they are ``ConnectError`` subclasses, not ``OSError`` ones.
``TimeoutError`` is the program's connect timeout; the OS's ``ETIMEDOUT`` is
``TCPTimedOutError``. Import them qualified (``from plait import protocol``) where the builtins
are also needed.

Exceptions raised by user code in a protocol's methods are not handled here: the transport
that called the method logs them and loses the connection.
"""

from plait.protocol._address import HostnameAddress, IPv4Address, IPv6Address, UNIXAddress
from plait.protocol._datagram import ConnectedDatagramProtocol, DatagramProtocol
from plait.protocol._errors import (
    AlreadyListened,
    BadFileError,
    BindError,
    CannotListenError,
    ConnectBindError,
    ConnectError,
    ConnectingCancelledError,
    ConnectionAborted,
    ConnectionClosed,
    ConnectionDone,
    ConnectionFdescWentAway,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    FileDescriptorOverrun,
    MessageLengthError,
    MulticastJoinError,
    NoRouteError,
    NotConnectingError,
    NotListeningError,
    ProcessDone,
    ProcessExitedAlready,
    ProcessTerminated,
    ServiceNameUnknownError,
    SSLError,
    TCPTimedOutError,
    TimeoutError,
    UnknownHostError,
    UserError,
    connectionDone,
    connectionLost,
    getConnectError,
)
from plait.protocol._interfaces import (
    IAddress,
    IConnector,
    IConsumer,
    IDatagramProtocol,
    IHalfCloseableProtocol,
    IListeningPort,
    ILoggingContext,
    IMulticastTransport,
    IProcessProtocol,
    IProcessTransport,
    IProducer,
    IProtocol,
    IProtocolFactory,
    IPullProducer,
    IPushProducer,
    ITCPTransport,
    ITransport,
    IUDPTransport,
)
from plait.protocol._process import ProcessProtocol
from plait.protocol._protocol import BaseProtocol, ClientFactory, Factory, Protocol, ServerFactory
from plait.protocol._reconnecting import ReconnectingClientFactory
from plait.protocol._wrapper import ProtocolWrapper, WrappingFactory

__all__ = [
    "AlreadyListened",
    "BadFileError",
    "BaseProtocol",
    "BindError",
    "CannotListenError",
    "ClientFactory",
    "ConnectBindError",
    "ConnectError",
    "ConnectedDatagramProtocol",
    "ConnectingCancelledError",
    "ConnectionAborted",
    "ConnectionClosed",
    "ConnectionDone",
    "ConnectionFdescWentAway",
    "ConnectionLost",
    "ConnectionRefusedError",
    "DNSLookupError",
    "DatagramProtocol",
    "Factory",
    "FileDescriptorOverrun",
    "HostnameAddress",
    "IAddress",
    "IConnector",
    "IConsumer",
    "IDatagramProtocol",
    "IHalfCloseableProtocol",
    "IListeningPort",
    "ILoggingContext",
    "IMulticastTransport",
    "IProcessProtocol",
    "IProcessTransport",
    "IProducer",
    "IProtocol",
    "IProtocolFactory",
    "IPullProducer",
    "IPushProducer",
    "IPv4Address",
    "IPv6Address",
    "ITCPTransport",
    "ITransport",
    "IUDPTransport",
    "MessageLengthError",
    "MulticastJoinError",
    "NoRouteError",
    "NotConnectingError",
    "NotListeningError",
    "ProcessDone",
    "ProcessExitedAlready",
    "ProcessProtocol",
    "ProcessTerminated",
    "Protocol",
    "ProtocolWrapper",
    "ReconnectingClientFactory",
    "SSLError",
    "ServerFactory",
    "ServiceNameUnknownError",
    "TCPTimedOutError",
    "TimeoutError",
    "UNIXAddress",
    "UnknownHostError",
    "UserError",
    "WrappingFactory",
    "connectionDone",
    "connectionLost",
    "getConnectError",
]
