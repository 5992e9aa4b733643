"""Session channels: server avatars (``ConchUser`` for in-process applications,
``UnixConchUser`` for system accounts), ``SSHSession``, and the client's ``SSHClientSession``.

Errors: a refused request is a ``RequestFailedError`` on the client's Deferred; a program that
cannot be started makes the server answer the ``shell``/``exec`` request with failure.
"""

from plait.ssh._session import ConchUser, SessionRestrictions, SessionTransport, SSHSession
from plait.ssh._session_client import SSHClientSession, openSession
from plait.ssh._session_unix import (
    UnixConchUser,
    UnixRealm,
    applyTerminalModes,
    openSessionPTY,
    readTerminalModes,
    setWindowSize,
)

__all__ = [
    "ConchUser",
    "SSHClientSession",
    "SSHSession",
    "SessionRestrictions",
    "SessionTransport",
    "UnixConchUser",
    "UnixRealm",
    "applyTerminalModes",
    "openSession",
    "openSessionPTY",
    "readTerminalModes",
    "setWindowSize",
]
