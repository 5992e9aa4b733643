"""Micro benchmark of SSH packet protection (not a test): ``python3 tests/wire/ssh/microbench_transport.py``.

Two rows per cipher, in MB/s of payload:
- ``seal+open``: one 32 KiB packet sealed and opened by the cipher objects alone;
- ``machine``: a client machine sends 32 KiB CHANNEL_DATA messages, the bytes reach the server
  machine in 256 KiB reads, and the server's events are drained (what one direction of a bulk
  transfer costs in plait.wire.ssh, both ends counted);
- ``send``: the sending end alone, a 32 KiB CHANNEL_DATA at a time cut from a 1 MiB write:
  ``copied`` as the connection used to (slice copied, header concatenated, ``sendMessage``),
  ``parts`` with ``sendMessageParts(header, view)`` (the one join into the packet).
"""

from __future__ import annotations

import struct
import time

from plait.wire.ssh._cipher import CIPHERS, MACS, makeOpener, makeSealer
from plait.wire.ssh.keys import PrivateKey
from plait.wire.ssh.transport import HostKeyReceived, SSHTransportConnection

SIZE = 32 * 1024
TOTAL = 256 * 1024 * 1024
PAIRS = [
    ("aes128-gcm@openssh.com", "none"),
    ("aes256-gcm@openssh.com", "none"),
    ("chacha20-poly1305@openssh.com", "none"),
    ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
    ("aes128-ctr", "hmac-sha2-256"),
    ("aes256-ctr", "hmac-sha2-512-etm@openssh.com"),
]


def sealOpen(cipher: str, mac: str) -> float:
    spec, macSpec = CIPHERS[cipher], MACS[mac]
    key, iv, macKey = bytes(spec.keySize), bytes(spec.ivSize), bytes(macSpec.keySize)
    sealer = makeSealer(cipher, mac, key, iv, macKey)
    opener = makeOpener(cipher, mac, key, iv, macKey)
    body = b"\x08" + bytes(SIZE) + bytes(8)
    packet = struct.pack(">I", len(body)) + body
    n = TOTAL // SIZE
    start = time.perf_counter()
    for seq in range(n):
        wire = bytearray(sealer.seal(seq, packet))
        opener.open(seq, wire, 0, opener.packetLength(seq, wire, 0))
    return n * SIZE / (time.perf_counter() - start) / 1e6


def _secure(cipher: str, mac: str) -> tuple[SSHTransportConnection, SSHTransportConnection]:
    macs = [mac] if mac != "none" else ["hmac-sha2-256-etm@openssh.com"]
    c = SSHTransportConnection("client", ciphers=[cipher], macs=macs)
    s = SSHTransportConnection("server", [PrivateKey.generate("ed25519")])
    for _ in range(20):
        a, b = c.dataToSend(), s.dataToSend()
        if not a and not b:
            break
        s.receiveData(a)
        c.receiveData(b)
        while (e := c.nextEvent()) is not None:
            if isinstance(e, HostKeyReceived):
                c.acceptHostKey()
        while s.nextEvent() is not None:
            pass
    return c, s


def send(cipher: str, mac: str, parts: bool) -> float:
    c, _s = _secure(cipher, mac)
    c.rekeyBytes = 1 << 62  # no rekey: nobody answers
    view = memoryview(bytes(32 * SIZE))
    n = TOTAL // SIZE
    header = struct.pack(">II", 0, SIZE)
    start = time.perf_counter()
    for i in range(n):
        j = (i % 32) * SIZE
        if parts:
            c.sendMessageParts(94, header, view[j : j + SIZE])
        else:
            c.sendMessage(94, header + view[j : j + SIZE].tobytes())
        c.dataToSend()
    return n * SIZE / (time.perf_counter() - start) / 1e6


def machine(cipher: str, mac: str) -> float:
    c, s = _secure(cipher, mac)
    payload = bytes(SIZE)
    n = TOTAL // SIZE
    start = time.perf_counter()
    for _batch in range(0, n, 8):
        for _ in range(8):
            c.sendMessage(94, payload)
        data = c.dataToSend()
        view = memoryview(data)
        for j in range(0, len(data), 262144):
            s.receiveData(view[j : j + 262144])  # type: ignore[arg-type]
        while s.nextEvent() is not None:
            pass
    return n * SIZE / (time.perf_counter() - start) / 1e6


if __name__ == "__main__":
    for cipher, mac in PAIRS:
        print(
            f"{cipher:30} {mac:30} seal+open {sealOpen(cipher, mac):7.0f} MB/s"
            f"   machine {machine(cipher, mac):7.0f} MB/s"
            f"   send copied {send(cipher, mac, False):5.0f} parts {send(cipher, mac, True):5.0f}"
        )
