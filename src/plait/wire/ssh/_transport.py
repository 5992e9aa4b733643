"""The SSH transport layer as a sans-IO machine (RFC 4253, RFC 8308, OpenSSH's strict kex).

``SSHTransportConnection(role)`` takes bytes from the peer (``receiveData``) and explicit calls
(``sendPacket``, ``requestService``, ``acceptHostKey``, ``requestRekey``...), and gives events
(``nextEvent``) and bytes for the peer (``dataToSend``). It owns the version exchange, the binary
packet protocol with its sequence numbers, algorithm negotiation, key exchange and re-exchange,
strict kex, ext-info, delayed compression and the generic messages (IGNORE, DEBUG,
UNIMPLEMENTED, DISCONNECT, SERVICE_REQUEST/ACCEPT). Messages 50 and above come out as
``PacketReceived`` for the service above.

When the peer breaks the protocol, ``receiveData`` (and ``acceptHostKey``, which resumes it)
queues SSH_MSG_DISCONNECT with the reason and raises ``SSHDisconnectError``: the caller sends
``dataToSend()`` and closes.
"""

from __future__ import annotations

import functools
import secrets
import struct
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from plait.wire._errors import LocalProtocolError
from plait.wire.ssh._cipher import (
    CIPHERS,
    COMPRESSIONS,
    MACS,
    Compressor,
    Decompressor,
    PacketOpener,
    PacketSealer,
    makeOpener,
    makeSealer,
)
from plait.wire.ssh._kex import HOST_KEY_TYPES, KEX_METHODS, KexMethod, deriveKey, exchangeHash
from plait.wire.ssh._keys import KeyFormatError, PrivateKey, PublicKey, parsePublicKeyBlob
from plait.wire.ssh._transport_events import (
    Algorithms,
    DebugReceived,
    Disconnected,
    Event,
    ExtInfoReceived,
    HostKeyReceived,
    KexComplete,
    PacketReceived,
    ServiceAccepted,
    ServiceRequested,
    UnimplementedReceived,
    VersionReceived,
)
from plait.wire.ssh._types import (
    MSG,
    DisconnectReason,
    SSHDisconnectError,
    SSHReader,
    SSHWriter,
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

DEFAULT_KEX_ALGORITHMS = (
    "mlkem768x25519-sha256",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
)
DEFAULT_HOST_KEY_ALGORITHMS = tuple(HOST_KEY_TYPES)
DEFAULT_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
)
DEFAULT_MACS = (
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
)
DEFAULT_COMPRESSIONS = ("none", "zlib@openssh.com")

MAX_PACKET_LENGTH = 256 * 1024  # OpenSSH's PACKET_MAX_SIZE; RFC 4253 asks for >= 35000
MAX_PAYLOAD = MAX_PACKET_LENGTH  # after decompression too
_MAX_LINE = 8192  # one identification or pre-banner line (OpenSSH's SSH_MAX_BANNER_LEN)
_MAX_PREBANNER_LINES = 1024
_MAX_WHILE_CHECKING = 4 * MAX_PACKET_LENGTH  # input buffered while the client decides on a key
_REKEY_PACKETS = 1 << 31  # sequence numbers must never wrap under one key
_STRICT_C = "kex-strict-c-v00@openssh.com"
_STRICT_S = "kex-strict-s-v00@openssh.com"
_MARKERS = frozenset(("ext-info-c", "ext-info-s", _STRICT_C, _STRICT_S))
_KEX_MESSAGES = frozenset((MSG.KEXINIT, MSG.NEWKEYS, MSG.KEXDH_INIT, MSG.KEXDH_REPLY))
_HEADER = struct.Struct(">IB")
_HEADER_MSG = struct.Struct(">IBB")
_MASK32 = 0xFFFFFFFF


_KEXINIT_BYTE = bytes((MSG.KEXINIT,))


@functools.lru_cache(maxsize=64)
def _kexInitBody(
    kex: tuple[str, ...],
    hostKeyAlgorithms: tuple[str, ...],
    ciphers: tuple[str, ...],
    macs: tuple[str, ...],
    compressions: tuple[str, ...],
) -> tuple[bytes, tuple[tuple[str, ...], ...]]:
    """Our KEXINIT after the cookie, and its ten name-lists (shared by every connection)."""
    lists = (kex, hostKeyAlgorithms, ciphers, ciphers, macs, macs, compressions, compressions)
    writer = SSHWriter()
    for names in lists:
        writer.nameList(names)
    body = writer.nameList(()).nameList(()).boolean(False).uint32(0).bytes()
    return body, (*lists, (), ())


def _protocolError(why: str) -> SSHDisconnectError:
    return SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, why)


def _checkNames(kind: str, names: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    names = tuple(names)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise LocalProtocolError(f"unsupported {kind}: {', '.join(unknown) or '(none given)'}")
    return names


def _choose(kind: str, client: Sequence[str], server: Sequence[str]) -> str:
    for name in client:
        if name in server and name not in _MARKERS:
            return name
    raise SSHDisconnectError(
        DisconnectReason.KEY_EXCHANGE_FAILED,
        f"no matching {kind}: client offered {','.join(client)}; server {','.join(server)}",
    )


class _Keys:
    """Keys derived by one exchange, waiting for NEWKEYS in each direction."""

    __slots__ = ("compressIn", "compressOut", "opener", "sealer")

    def __init__(
        self, sealer: PacketSealer, opener: PacketOpener, compressOut: str, compressIn: str
    ) -> None:
        self.sealer = sealer
        self.opener = opener
        self.compressOut = compressOut
        self.compressIn = compressIn


class SSHTransportConnection:
    """One SSH connection's transport layer, for ``role`` "client" or "server".

    ``hostKeys`` (server) are ``PrivateKey``s; algorithm preferences default to the
    ``DEFAULT_*`` tuples; ``version`` is the software part of our identification string;
    ``randomBytes`` is the randomness source (``secrets.token_bytes``); ``rekeyBytes`` is how
    much traffic one set of keys may protect in each direction before a re-exchange.
    ``serverSigAlgs`` is what the server announces in ext-info's ``server-sig-algs``.
    """

    def __init__(
        self,
        role: Literal["client", "server"],
        hostKeys: Sequence[PrivateKey] = (),
        *,
        kexAlgorithms: Iterable[str] = DEFAULT_KEX_ALGORITHMS,
        ciphers: Iterable[str] = DEFAULT_CIPHERS,
        macs: Iterable[str] = DEFAULT_MACS,
        compressions: Iterable[str] = DEFAULT_COMPRESSIONS,
        hostKeyAlgorithms: Iterable[str] = DEFAULT_HOST_KEY_ALGORITHMS,
        version: str = "plait_0.1",
        randomBytes: Callable[[int], bytes] = secrets.token_bytes,
        rekeyBytes: int = 1 << 30,
        serverSigAlgs: Iterable[str] = DEFAULT_HOST_KEY_ALGORITHMS,
    ) -> None:
        if role not in ("client", "server"):
            raise LocalProtocolError(f"role must be 'client' or 'server', not {role!r}")
        self.isClient = role == "client"
        self._kexAlgorithms = _checkNames("key exchange", kexAlgorithms, KEX_METHODS)
        self._ciphers = _checkNames("ciphers", ciphers, (c for c in CIPHERS if c != "none"))
        self._macs = _checkNames("MACs", macs, (m for m in MACS if m != "none"))
        self._compressions = _checkNames("compressions", compressions, COMPRESSIONS)
        hostKeyAlgs = _checkNames("host key algorithms", hostKeyAlgorithms, HOST_KEY_TYPES)
        self._hostKeys = tuple(hostKeys)
        if not self.isClient:
            # offer what our keys can sign, in the preference order given
            hostKeyAlgs = tuple(
                a for a in hostKeyAlgs if any(a in k.signatureAlgorithms() for k in hostKeys)
            )
            if not hostKeyAlgs:
                raise LocalProtocolError("a server needs a host key for one of its algorithms")
        self._hostKeyAlgorithms = hostKeyAlgs
        self._serverSigAlgs = tuple(serverSigAlgs)
        self._random = randomBytes
        self.rekeyBytes = rekeyBytes
        self.ourVersion = version if version.startswith("SSH-") else f"SSH-2.0-{version}"
        self.peerVersion: str | None = None
        self.sessionID: bytes | None = None
        self.algorithms: Algorithms | None = None
        self.hostKey: PublicKey | None = None  # the server's key (both roles, once known)
        self.peerExtensions: dict[str, bytes] = {}
        self.lastSequenceNumber = 0  # of the last packet received (for UNIMPLEMENTED)
        self.closed = False

        self._events: deque[Event] = deque()
        self._out: list[bytes] = [self.ourVersion.encode("ascii") + b"\r\n"]
        self._held: list[tuple[int, bytes]] = []
        #: Payload bytes of the service messages waiting for the key exchange to finish (the
        #: adapter caps it: a peer that never completes a rekey must not grow it unbounded).
        self.heldBytes = 0
        self._inbuf = bytearray()
        self._versionDone = False
        self._scanFrom = 0
        self._preBannerLines = 0
        self._pendingLength: int | None = None
        self._sealer = PacketSealer()
        self._opener = PacketOpener()
        self._sendSeq = 0
        self._recvSeq = 0
        self._sentBytes = self._recvBytes = 0
        self._sentPackets = self._recvPackets = 0
        self._compressor: Compressor | None = None
        self._decompressor: Decompressor | None = None
        self._authenticated = False
        self._padPool = b""
        self._padPos = 0

        self._ourKexInit: bytes | None = None
        self._ourLists: tuple[tuple[str, ...], ...] = ()
        self._peerKexInit: bytes | None = None
        self._kex: KexMethod | None = None
        self._keys: _Keys | None = None
        self._kexCount = 0  # completed exchanges
        self._peerNewKeys = 0  # NEWKEYS received
        self._newKeysSent = 0
        self._clientField = b""
        self._peerLists: list[list[str]] = []
        self._peerGuess = False
        self._strict = False
        self._ignoreGuess = False
        self._sendExtInfo = False
        self._awaitingHostKey = False
        self._pendingHostKey: tuple[PublicKey, bytes, bytes] | None = None
        self._sendKexInit()

    # -- public API --------------------------------------------------------------------------

    @property
    def kexInProgress(self) -> bool:
        """True from a KEXINIT (ours or theirs) until both NEWKEYS."""
        return self._ourKexInit is not None or self._peerKexInit is not None

    @property
    def secure(self) -> bool:
        """True once the first key exchange has completed."""
        return self._kexCount > 0

    def nextEvent(self) -> Event | None:
        """The next event, or None when there are none for now."""
        return self._events.popleft() if self._events else None

    def dataToSend(self) -> bytes:
        """Everything queued for the peer (one join), emptying the queue.

        Bytes-like: a single AEAD packet comes back as the ``bytearray`` it was sealed into
        (now the caller's), not copied into ``bytes``.
        """
        out = self._out
        if not out:
            return b""
        # One packet (the bulk case: a packet a write) goes as the sealer's buffer: joining one
        # bytearray would copy it all again just to make it bytes.
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def receiveData(self, data: bytes) -> None:
        """Bytes from the peer; raises ``SSHDisconnectError`` (with DISCONNECT queued)."""
        if self.closed:
            return
        self._inbuf += data
        self._run()

    def sendPacket(self, payload: bytes) -> None:
        """Send a message (``payload`` starts with its message number).

        While a key exchange is in progress, service messages wait and go out after our NEWKEYS.
        """
        if not payload:
            raise LocalProtocolError("an SSH message needs at least its message number")
        self.sendMessage(payload[0], memoryview(payload)[1:])  # type: ignore[arg-type]

    def sendMessage(self, messageType: int, payload: bytes) -> None:
        """Send message ``messageType`` with ``payload`` (without the number byte)."""
        if self.closed:
            raise LocalProtocolError("the SSH connection is closed")
        if len(payload) > MAX_PAYLOAD - 1:
            raise LocalProtocolError(f"payload of {len(payload)} bytes is too long")
        if self._ourKexInit is not None or not self._newKeysSent:
            self._held.append((messageType, bytes(payload)))
            self.heldBytes += len(payload)
        else:
            self._write(messageType, payload)

    def sendMessageParts(self, messageType: int, header: bytes, data: bytes | memoryview) -> None:
        """Send message ``messageType`` whose payload is ``header`` followed by ``data``.

        The bulk path (CHANNEL_DATA): the pieces are joined once, straight into the packet's
        plaintext, rather than first into a payload and then again into the packet.
        """
        if self.closed:
            raise LocalProtocolError("the SSH connection is closed")
        size = len(header) + len(data)
        if size > MAX_PAYLOAD - 1:
            raise LocalProtocolError(f"payload of {size} bytes is too long")
        if self._ourKexInit is not None or not self._newKeysSent:
            self._held.append((messageType, b"".join((header, data))))
            self.heldBytes += size
        else:
            self._write(messageType, header, data)

    def requestService(self, name: bytes) -> None:
        """Client: ask for service ``name`` (e.g. ``b"ssh-userauth"``)."""
        if not self.isClient:
            raise LocalProtocolError("only a client requests services")
        self.sendMessage(MSG.SERVICE_REQUEST, SSHWriter().string(name).bytes())

    def acceptService(self, name: bytes) -> None:
        """Server: start service ``name`` that the client requested."""
        if self.isClient:
            raise LocalProtocolError("only a server accepts services")
        self.sendMessage(MSG.SERVICE_ACCEPT, SSHWriter().string(name).bytes())

    def acceptHostKey(self) -> None:
        """Client: trust the key of the last ``HostKeyReceived``; the exchange goes on.

        Resumes reading what the peer sent meanwhile, so it may raise like ``receiveData``.
        """
        if not self._awaitingHostKey:
            raise LocalProtocolError("no host key is waiting for a decision")
        self._awaitingHostKey = False
        self._sendNewKeys()
        self._run()

    def rejectHostKey(self, description: str = "host key not accepted") -> None:
        """Client: refuse the server's key; DISCONNECT (HOST_KEY_NOT_VERIFIABLE) is queued."""
        if not self._awaitingHostKey:
            raise LocalProtocolError("no host key is waiting for a decision")
        self._awaitingHostKey = False
        self.sendDisconnect(DisconnectReason.HOST_KEY_NOT_VERIFIABLE, description)

    def requestRekey(self) -> bool:
        """Start a key re-exchange now (e.g. on a timer); False if one is already running."""
        if self.closed or not self.secure or self.kexInProgress:
            return False
        self._sendKexInit()
        return True

    def enableCompression(self) -> None:
        """Authentication succeeded: delayed compression (zlib@openssh.com) starts now.

        The machine also does this by itself when USERAUTH_SUCCESS passes through it (sent by a
        server, received by a client), so calling it again is harmless.
        """
        if self._authenticated:
            return
        self._authenticated = True
        algs = self.algorithms
        if algs is None:
            return
        out, into = (
            (algs.compressionCS, algs.compressionSC)
            if self.isClient
            else (algs.compressionSC, algs.compressionCS)
        )
        if out == "zlib@openssh.com" and self._compressor is None:
            self._compressor = Compressor()
        if into == "zlib@openssh.com" and self._decompressor is None:
            self._decompressor = Decompressor(MAX_PAYLOAD)

    def sendIgnore(self, data: bytes = b"") -> None:
        """SSH_MSG_IGNORE."""
        self.sendMessage(MSG.IGNORE, SSHWriter().string(data).bytes())

    def sendDebug(self, message: str, alwaysDisplay: bool = False) -> None:
        """SSH_MSG_DEBUG."""
        self.sendMessage(
            MSG.DEBUG, SSHWriter().boolean(alwaysDisplay).string(message).string(b"").bytes()
        )

    def sendUnimplemented(self, sequenceNumber: int | None = None) -> None:
        """SSH_MSG_UNIMPLEMENTED for packet ``sequenceNumber`` (default: the last received)."""
        seq = self.lastSequenceNumber if sequenceNumber is None else sequenceNumber
        self.sendMessage(MSG.UNIMPLEMENTED, SSHWriter().uint32(seq).bytes())

    def sendDisconnect(self, reason: int, description: str = "") -> None:
        """Queue SSH_MSG_DISCONNECT (even mid-exchange); the machine is closed afterwards."""
        if self.closed:
            return
        self._write(
            MSG.DISCONNECT, SSHWriter().uint32(reason).string(description).string(b"").bytes()
        )
        self.closed = True
        self._held.clear()
        self.heldBytes = 0

    # -- reading -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if not self._versionDone and not self._readVersion():
                return
            self._readPackets()
        except SSHDisconnectError as e:
            self.sendDisconnect(e.reason, e.description)
            raise

    def _readVersion(self) -> bool:
        buf = self._inbuf
        while True:
            end = buf.find(b"\n", self._scanFrom, _MAX_LINE)
            if end < 0:
                if len(buf) >= _MAX_LINE:
                    raise SSHDisconnectError(
                        DisconnectReason.PROTOCOL_ERROR, "identification line too long"
                    )
                self._scanFrom = len(buf)
                return False
            line = bytes(buf[:end])
            del buf[: end + 1]
            self._scanFrom = 0
            if line.endswith(b"\r"):
                line = line[:-1]
            if b"\0" in line:
                raise _protocolError("NUL in identification line")
            if line.startswith(b"SSH-"):
                if not (line.startswith(b"SSH-2.0-") or line.startswith(b"SSH-1.99-")):
                    raise SSHDisconnectError(
                        DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
                        f"unsupported protocol version {line[:40]!r}",
                    )
                try:
                    self.peerVersion = line.decode("ascii")
                except UnicodeDecodeError:
                    raise _protocolError("non-ASCII identification string") from None
                self._versionDone = True
                self._events.append(VersionReceived(self.peerVersion))
                return True
            self._preBannerLines += 1
            if not self.isClient:
                raise _protocolError("the client did not start with an identification string")
            if self._preBannerLines > _MAX_PREBANNER_LINES:
                raise _protocolError("too many lines before the identification string")

    def _readPackets(self) -> None:
        """Read the packets in ``_inbuf``, leaving what is incomplete there."""
        buf = self._inbuf
        if self._awaitingHostKey and len(buf) > _MAX_WHILE_CHECKING:
            raise _protocolError("too much data while the host key is being checked")
        pos = 0
        view = memoryview(buf)
        try:
            pos = self._readFrom(view, 0)
        finally:
            view.release()
            del buf[:pos]

    def _readFrom(self, view: memoryview, pos: int) -> int:
        """Open and dispatch the whole packets in ``view`` from ``pos``; return where the
        first incomplete one starts."""
        limit = len(view)
        while not self.closed and not self._awaitingHostKey:
            opener = self._opener
            avail = limit - pos
            length = self._pendingLength
            if length is None:
                if avail < opener.headerSize:
                    break
                length = opener.packetLength(self._recvSeq, view, pos)
                aligned = length + 4 if opener.lengthAligned else length
                if length < 5 or length > MAX_PACKET_LENGTH or aligned % opener.blockSize:
                    raise _protocolError(f"bad packet length {length}")
                self._pendingLength = length
            total = 4 + length + opener.macSize
            if avail < total:
                break
            seq = self._recvSeq
            plain = opener.open(seq, view, pos, length)
            pos += total
            self._pendingLength = None
            self._recvSeq = (seq + 1) & _MASK32
            self._recvBytes += total
            self._recvPackets += 1
            self.lastSequenceNumber = seq
            padding = plain[0]
            end = length - padding
            if padding < 4 or end < 2:
                raise _protocolError(f"bad padding length {padding}")
            if self._decompressor is not None:
                payload = self._decompressor.decompress(plain[1:end])
                if not payload:
                    raise _protocolError("empty payload")
                msg, body = payload[0], payload[1:]
            else:
                msg, body = plain[1], plain[2:end]
            if msg >= 50:
                self._serviceMessage(seq, msg, body)
            else:
                self._transportMessage(seq, msg, body)
        if self._recvBytes > self.rekeyBytes or self._recvPackets > _REKEY_PACKETS:
            self.requestRekey()
        return pos

    def _serviceMessage(self, seq: int, msg: int, body: bytes) -> None:
        if not self.secure or self._peerKexInit is not None:
            raise _protocolError(f"message {msg} during key exchange")
        if msg == MSG.USERAUTH_SUCCESS and self.isClient:
            self.enableCompression()  # delayed compression starts with the next packet
        self._events.append(PacketReceived(msg, body, seq))

    def _transportMessage(self, seq: int, msg: int, body: bytes) -> None:
        if (
            self._strict
            and self._peerNewKeys == 0
            and msg not in _KEX_MESSAGES
            and msg != MSG.DISCONNECT
        ):
            raise _protocolError(f"strict KEX violation: message {msg} during initial kex")
        r = SSHReader(body)
        if msg == MSG.DISCONNECT:
            reason = r.uint32()
            description = r.string().decode("utf-8", "replace")
            self.closed = True
            self._held.clear()
            self.heldBytes = 0
            self._events.append(Disconnected(reason, description))
        elif msg == MSG.IGNORE:
            pass
        elif msg == MSG.DEBUG:
            always = r.boolean()
            self._events.append(DebugReceived(always, r.string().decode("utf-8", "replace")))
        elif msg == MSG.UNIMPLEMENTED:
            self._events.append(UnimplementedReceived(r.uint32()))
        elif msg == MSG.KEXINIT:
            self._receiveKexInit(seq, bytes((msg,)) + body)
        elif msg in (MSG.KEXDH_INIT, MSG.KEXDH_REPLY):
            self._receiveKexMessage(msg, r)
        elif msg == MSG.NEWKEYS:
            self._receiveNewKeys()
        elif msg in (MSG.SERVICE_REQUEST, MSG.SERVICE_ACCEPT, MSG.EXT_INFO):
            if not self.secure or self._peerKexInit is not None:
                raise _protocolError(f"message {msg} before the key exchange completed")
            if msg == MSG.EXT_INFO:
                self._receiveExtInfo(r)
            elif (msg == MSG.SERVICE_REQUEST) == self.isClient:
                raise _protocolError(f"unexpected message {msg} from the {self._peerRole}")
            else:
                name = r.string()
                event = ServiceRequested(name) if msg == MSG.SERVICE_REQUEST else None
                self._events.append(event or ServiceAccepted(name))
        elif 20 <= msg < 50:
            raise _protocolError(f"unexpected key exchange message {msg}")
        else:
            self.sendUnimplemented(seq)

    @property
    def _peerRole(self) -> str:
        return "server" if self.isClient else "client"

    def _receiveExtInfo(self, r: SSHReader) -> None:
        count = r.uint32()
        if count > 64:
            raise _protocolError("too many extensions")
        extensions: dict[str, bytes] = {}
        for _ in range(count):
            name = r.string().decode("ascii", "replace")
            extensions[name] = r.string()
        self.peerExtensions.update(extensions)
        self._events.append(ExtInfoReceived(extensions))

    # -- writing -----------------------------------------------------------------------------

    def _padding(self, n: int) -> bytes:
        if self._sealer.macSize == 0:
            return bytes(n)  # unencrypted: nothing to hide
        pos = self._padPos
        if pos + n > len(self._padPool):
            self._padPool = self._random(4096)
            pos = 0
        self._padPos = pos + n
        return self._padPool[pos : pos + n]

    def _write(self, msg: int, payload: bytes, data: bytes | memoryview = b"") -> None:
        # ``data`` (bulk bytes after ``payload``) is joined once, into the plaintext below.
        sealer = self._sealer
        if self._compressor is not None:
            payload = self._compressor.compress(b"".join((bytes((msg,)), payload, data)))
            data = b""
            size = len(payload)
            header: struct.Struct | None = None
        else:
            size = len(payload) + len(data) + 1
            header = _HEADER_MSG
        block = sealer.blockSize
        padding = block - ((size + 5 if sealer.lengthAligned else size + 1) % block)
        if padding < 4:
            padding += block
        length = size + padding + 1
        if header is None:
            start = _HEADER.pack(length, padding)
        else:
            start = _HEADER_MSG.pack(length, padding, msg)
        seq = self._sendSeq
        wire = sealer.seal(seq, b"".join((start, payload, data, self._padding(padding))))
        self._out.append(wire)
        self._sendSeq = (seq + 1) & _MASK32
        self._sentBytes += len(wire)
        self._sentPackets += 1
        if msg == MSG.USERAUTH_SUCCESS and not self.isClient:
            self.enableCompression()
        if (
            self._sentBytes > self.rekeyBytes or self._sentPackets > _REKEY_PACKETS
        ) and not self.kexInProgress:
            self.requestRekey()

    # -- key exchange ------------------------------------------------------------------------

    def _sendKexInit(self) -> None:
        kex = self._kexAlgorithms
        if self._kexCount == 0:
            kex += ("ext-info-c", _STRICT_C) if self.isClient else ("ext-info-s", _STRICT_S)
        body, self._ourLists = _kexInitBody(
            kex, self._hostKeyAlgorithms, self._ciphers, self._macs, self._compressions
        )
        # only the cookie is fresh per KEXINIT; the name-lists are built once per preferences
        payload = b"".join((_KEXINIT_BYTE, self._random(16), body))
        self._ourKexInit = payload
        self._write(MSG.KEXINIT, payload[1:])
        if self._peerKexInit is not None:
            self._negotiate()

    def _receiveKexInit(self, seq: int, payload: bytes) -> None:
        if self._peerKexInit is not None:
            raise _protocolError("KEXINIT during a key exchange")
        r = SSHReader(payload, 17)
        lists = [r.nameList() for _ in range(10)]
        guessFollows = r.boolean()
        r.uint32()
        if self._kexCount == 0:
            self._strict = (_STRICT_S if self.isClient else _STRICT_C) in lists[0]
            if self._strict and seq != 0:
                raise _protocolError("strict KEX violation: KEXINIT was not the first packet")
            if not self.isClient and "ext-info-c" in lists[0]:
                self._sendExtInfo = True
        self._peerKexInit = payload
        self._peerLists = lists
        self._peerGuess = guessFollows
        if self._ourKexInit is None:
            self._sendKexInit()  # negotiates
        else:
            self._negotiate()

    def _negotiate(self) -> None:
        ourLists = self._ourLists
        peer = self._peerLists
        c, s = (ourLists, peer) if self.isClient else (peer, ourLists)
        kex = _choose("key exchange method", c[0], s[0])
        hostKey = _choose("host key algorithm", c[1], s[1])
        cipherCS = _choose("cipher (client to server)", c[2], s[2])
        cipherSC = _choose("cipher (server to client)", c[3], s[3])
        macCS = "none" if CIPHERS[cipherCS].isAEAD else _choose("MAC", c[4], s[4])
        macSC = "none" if CIPHERS[cipherSC].isAEAD else _choose("MAC", c[5], s[5])
        compCS = _choose("compression", c[6], s[6])
        compSC = _choose("compression", c[7], s[7])
        self.algorithms = Algorithms(
            kex, hostKey, cipherCS, cipherSC, macCS, macSC, compCS, compSC, self._strict
        )
        # a wrong guess by the peer: its first kex packet is to be ignored (RFC 4253 §7)
        self._ignoreGuess = self._peerGuess and (peer[0][:1] != [kex] or peer[1][:1] != [hostKey])
        self._kex = KEX_METHODS[kex](self._random)
        if self.isClient:
            self._clientField = self._kex.clientInit()
            self._write(MSG.KEXDH_INIT, self._clientField)

    def _receiveKexMessage(self, msg: int, r: SSHReader) -> None:
        kex = self._kex
        if kex is None or self._keys is not None:
            raise _protocolError(f"unexpected key exchange message {msg}")
        if self._ignoreGuess:
            self._ignoreGuess = False
            return
        if (msg == MSG.KEXDH_INIT) == self.isClient:
            raise _protocolError(f"unexpected key exchange message {msg}")
        if self.isClient:
            blob = r.string()
            serverField, secret = kex.clientFinish(r)
            signature = r.string()
            r.done()
            self._clientVerify(kex, blob, serverField, secret, signature)
        else:
            clientField, serverField, secret = kex.serverReply(r)
            r.done()
            algs = self.algorithms
            assert algs is not None
            key = next(k for k in self._hostKeys if algs.hostKey in k.signatureAlgorithms())
            blob = key.publicKey().blob()
            self.hostKey = key.publicKey()
            h = self._hash(kex, blob, clientField, serverField, secret)
            signature = key.sign(h, algs.hostKey)
            reply = SSHWriter().string(blob).raw(serverField).string(signature).bytes()
            self._write(MSG.KEXDH_REPLY, reply)
            self._deriveKeys(kex, secret, h)
            self._sendNewKeys()

    def _hash(
        self, kex: KexMethod, blob: bytes, clientField: bytes, serverField: bytes, secret: bytes
    ) -> bytes:
        ours, theirs = self.ourVersion.encode(), (self.peerVersion or "").encode()
        ourInit, peerInit = self._ourKexInit or b"", self._peerKexInit or b""
        vc, vs = (ours, theirs) if self.isClient else (theirs, ours)
        ic, is_ = (ourInit, peerInit) if self.isClient else (peerInit, ourInit)
        return exchangeHash(kex.hashFunc, vc, vs, ic, is_, blob, clientField, serverField, secret)

    def _clientVerify(
        self, kex: KexMethod, blob: bytes, serverField: bytes, secret: bytes, signature: bytes
    ) -> None:
        algs = self.algorithms
        assert algs is not None
        try:
            key = parsePublicKeyBlob(blob)
        except KeyFormatError as e:
            raise SSHDisconnectError(
                DisconnectReason.KEY_EXCHANGE_FAILED, f"bad host key: {e}"
            ) from None
        if key.keyType != HOST_KEY_TYPES[algs.hostKey]:
            raise SSHDisconnectError(
                DisconnectReason.KEY_EXCHANGE_FAILED,
                f"host key is {key.keyType}, negotiated {algs.hostKey}",
            )
        h = self._hash(kex, blob, self._clientField, serverField, secret)
        if not key.verify(signature, h, algorithm=algs.hostKey):
            raise SSHDisconnectError(
                DisconnectReason.KEY_EXCHANGE_FAILED, "host key signature did not verify"
            )
        self._deriveKeys(kex, secret, h)
        if self._kexCount > 0:
            if key != self.hostKey:
                raise SSHDisconnectError(
                    DisconnectReason.HOST_KEY_NOT_VERIFIABLE, "host key changed during rekey"
                )
            self._sendNewKeys()
            return
        self.hostKey = key
        self._awaitingHostKey = True
        self._events.append(HostKeyReceived(key))

    def _deriveKeys(self, kex: KexMethod, secret: bytes, h: bytes) -> None:
        algs = self.algorithms
        assert algs is not None
        if self.sessionID is None:
            self.sessionID = h
        session = self.sessionID

        def derive(letter: bytes, size: int) -> bytes:
            if size == 0:
                return b""
            return deriveKey(kex.hashFunc, secret, h, letter, session, size)

        def direction(cipher: str, mac: str, iv: bytes, key: bytes, integrity: bytes) -> Any:
            spec, macSpec = CIPHERS[cipher], MACS[mac]
            return (
                cipher,
                mac,
                derive(key, spec.keySize),
                derive(iv, spec.ivSize),
                derive(integrity, macSpec.keySize),
            )

        cs = direction(algs.cipherCS, algs.macCS, b"A", b"C", b"E")
        sc = direction(algs.cipherSC, algs.macSC, b"B", b"D", b"F")
        out, into = (cs, sc) if self.isClient else (sc, cs)
        compOut, compIn = (
            (algs.compressionCS, algs.compressionSC)
            if self.isClient
            else (algs.compressionSC, algs.compressionCS)
        )
        self._keys = _Keys(makeSealer(*out), makeOpener(*into), compOut, compIn)

    def _sendNewKeys(self) -> None:
        keys = self._keys
        assert keys is not None
        self._write(MSG.NEWKEYS, b"")
        self._newKeysSent += 1
        self._sealer = keys.sealer
        if self._strict:
            self._sendSeq = 0
        self._sentBytes = self._sentPackets = 0
        if keys.compressOut != "zlib@openssh.com":
            self._compressor = None
        elif self._authenticated and self._compressor is None:
            self._compressor = Compressor()
        self._ourKexInit = None
        if self._sendExtInfo:
            self._sendExtInfo = False
            info = SSHWriter().uint32(1).string("server-sig-algs")
            self._write(MSG.EXT_INFO, info.nameList(self._serverSigAlgs).bytes())
        self._maybeComplete()
        held, self._held = self._held, []
        self.heldBytes = 0
        for msg, payload in held:
            self._write(msg, payload)

    def _receiveNewKeys(self) -> None:
        keys = self._keys
        if keys is None or self._peerKexInit is None or self._awaitingHostKey:
            raise _protocolError("unexpected NEWKEYS")
        self._opener = keys.opener
        self._pendingLength = None
        if self._strict:
            self._recvSeq = 0
        self._recvBytes = self._recvPackets = 0
        if keys.compressIn != "zlib@openssh.com":
            self._decompressor = None
        elif self._authenticated and self._decompressor is None:
            self._decompressor = Decompressor(MAX_PAYLOAD)
        self._peerKexInit = None
        self._peerNewKeys += 1
        self._maybeComplete()

    def _maybeComplete(self) -> None:
        if self._ourKexInit is not None or self._peerKexInit is not None:
            return
        self._kex = None
        self._keys = None
        self._kexCount += 1
        assert self.algorithms is not None
        self._events.append(KexComplete(self.algorithms, self._kexCount == 1))
