"""The SSH transport layer, sans-IO (RFC 4253): version exchange, binary packets, ciphers and
MACs, key exchange, strict kex, ext-info, delayed compression and rekeying.

``SSHTransportConnection(role, hostKeys=..., kexAlgorithms=..., ciphers=..., macs=...,
compressions=..., hostKeyAlgorithms=..., version=..., randomBytes=...)``: feed it
``receiveData(bytes)``, read ``nextEvent()`` until None, send ``dataToSend()``. Events:
``VersionReceived``, ``HostKeyReceived`` (client: answer ``acceptHostKey()`` or
``rejectHostKey()``), ``KexComplete``, ``ServiceRequested`` (server: ``acceptService(name)``),
``ServiceAccepted``, ``PacketReceived`` (messages 50+), ``ExtInfoReceived``, ``DebugReceived``,
``UnimplementedReceived``, ``Disconnected``.

Algorithms: key exchange ``mlkem768x25519-sha256``, ``curve25519-sha256`` (and its libssh.org
alias), ``ecdh-sha2-nistp256/384/521``, ``diffie-hellman-group14-sha256``,
``diffie-hellman-group16-sha512``, ``diffie-hellman-group18-sha512``; host keys ``ssh-ed25519``,
``ecdsa-sha2-nistp256/384/521``, ``rsa-sha2-512``, ``rsa-sha2-256``; ciphers
``aes128-gcm@openssh.com``, ``aes256-gcm@openssh.com``, ``chacha20-poly1305@openssh.com``,
``aes128/192/256-ctr``; MACs ``hmac-sha2-256/512`` and their ``-etm@openssh.com`` forms;
compression ``none`` and ``zlib@openssh.com``.

Errors: ``SSHDisconnectError`` (from ``plait.wire.ssh.types``) when the peer breaks the protocol
(the DISCONNECT is already queued); ``plait.wire.LocalProtocolError`` on misuse.
"""

from plait.wire.ssh._transport import (
    DEFAULT_CIPHERS,
    DEFAULT_COMPRESSIONS,
    DEFAULT_HOST_KEY_ALGORITHMS,
    DEFAULT_KEX_ALGORITHMS,
    DEFAULT_MACS,
    MAX_PACKET_LENGTH,
    SSHTransportConnection,
)
from plait.wire.ssh._transport_events import (
    Algorithms,
    DebugReceived,
    Disconnected,
    ExtInfoReceived,
    HostKeyReceived,
    KexComplete,
    PacketReceived,
    ServiceAccepted,
    ServiceRequested,
    UnimplementedReceived,
    VersionReceived,
)

__all__ = [
    "DEFAULT_CIPHERS",
    "DEFAULT_COMPRESSIONS",
    "DEFAULT_HOST_KEY_ALGORITHMS",
    "DEFAULT_KEX_ALGORITHMS",
    "DEFAULT_MACS",
    "MAX_PACKET_LENGTH",
    "Algorithms",
    "DebugReceived",
    "Disconnected",
    "ExtInfoReceived",
    "HostKeyReceived",
    "KexComplete",
    "PacketReceived",
    "SSHTransportConnection",
    "ServiceAccepted",
    "ServiceRequested",
    "UnimplementedReceived",
    "VersionReceived",
]
