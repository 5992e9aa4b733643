"""Events of the SSH transport machine (``plait.wire.ssh.transport``)."""

from __future__ import annotations

from dataclasses import dataclass

from plait.wire.ssh._keys import PublicKey

# -- events --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Algorithms:
    """What the last KEXINIT exchange settled on (``cs`` client to server, ``sc`` back)."""

    kex: str
    hostKey: str
    cipherCS: str
    cipherSC: str
    macCS: str
    macSC: str
    compressionCS: str
    compressionSC: str
    strict: bool


@dataclass(frozen=True, slots=True)
class VersionReceived:
    """The peer's identification string (without CR LF), e.g. ``SSH-2.0-OpenSSH_9.2``."""

    version: str


@dataclass(frozen=True, slots=True)
class HostKeyReceived:
    """Client: the server proved it holds ``key``; call ``acceptHostKey`` or ``rejectHostKey``."""

    key: PublicKey


@dataclass(frozen=True, slots=True)
class KexComplete:
    """A key exchange finished in both directions (``initial`` for the first one)."""

    algorithms: Algorithms
    initial: bool


@dataclass(frozen=True, slots=True)
class ServiceRequested:
    """Server: the client asked for a service; ``acceptService`` it or disconnect."""

    name: bytes


@dataclass(frozen=True, slots=True)
class ServiceAccepted:
    """Client: the server started the service we asked for."""

    name: bytes


@dataclass(frozen=True, slots=True)
class PacketReceived:
    """A message for the service (number 50 or above); ``payload`` excludes the number byte."""

    messageNum: int
    payload: bytes
    sequenceNumber: int


@dataclass(frozen=True, slots=True)
class ExtInfoReceived:
    """SSH_MSG_EXT_INFO (RFC 8308), e.g. ``{"server-sig-algs": b"ssh-ed25519,..."}``."""

    extensions: dict[str, bytes]


@dataclass(frozen=True, slots=True)
class DebugReceived:
    """SSH_MSG_DEBUG."""

    alwaysDisplay: bool
    message: str


@dataclass(frozen=True, slots=True)
class UnimplementedReceived:
    """The peer did not understand our packet ``sequenceNumber``."""

    sequenceNumber: int


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The peer sent SSH_MSG_DISCONNECT; the connection is over."""

    reason: int
    description: str


Event = (
    VersionReceived
    | HostKeyReceived
    | KexComplete
    | ServiceRequested
    | ServiceAccepted
    | PacketReceived
    | ExtInfoReceived
    | DebugReceived
    | UnimplementedReceived
    | Disconnected
)
