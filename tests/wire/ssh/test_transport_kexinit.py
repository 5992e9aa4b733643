"""Our KEXINIT: the name-lists are built once per preferences, the cookie is fresh each time."""

from __future__ import annotations

from plait.wire.ssh.keys import PrivateKey
from plait.wire.ssh.transport import SSHTransportConnection
from plait.wire.ssh.types import MSG, SSHReader

ED25519 = PrivateKey.generate("ed25519")


def _lists(payload: bytes) -> list[list[str]]:
    reader = SSHReader(payload, 17)
    return [reader.nameList() for _ in range(10)]


def _pumpKex(c: SSHTransportConnection, s: SSHTransportConnection) -> None:
    for _ in range(50):
        a, b = c.dataToSend(), s.dataToSend()
        if not a and not b:
            return
        s.receiveData(a)
        c.receiveData(b)
        while (e := c.nextEvent()) is not None:
            if type(e).__name__ == "HostKeyReceived":
                c.acceptHostKey()
        while s.nextEvent() is not None:
            pass


def test_each_connection_gets_a_fresh_cookie_and_the_same_lists() -> None:
    """Two servers with the same preferences send equal name-lists but different cookies."""
    a = SSHTransportConnection("server", [ED25519])
    b = SSHTransportConnection("server", [ED25519])
    for server in (a, b):
        server.receiveData(b"SSH-2.0-peer\r\n")
    initA, initB = a._ourKexInit, b._ourKexInit
    assert initA is not None and initB is not None
    assert initA[0] == MSG.KEXINIT and initB[0] == MSG.KEXINIT
    assert initA[1:17] != initB[1:17]
    assert initA[17:] == initB[17:]
    assert "ext-info-s" in _lists(initA)[0]
    assert _lists(initA)[1] == ["ssh-ed25519"]


def test_rekey_kexinit_drops_the_first_exchange_markers() -> None:
    """A rekey's KEXINIT has a new cookie and no ext-info/strict-kex markers, and kex succeeds."""
    c = SSHTransportConnection("client")
    s = SSHTransportConnection("server", [ED25519])
    _pumpKex(c, s)
    assert c.secure and s.secure
    first = c._ourKexInit
    assert first is None  # cleared once the exchange completed
    assert c.requestRekey()
    rekey = c._ourKexInit
    assert rekey is not None
    kex = _lists(rekey)[0]
    assert "ext-info-c" not in kex and not any("strict" in n for n in kex)
    _pumpKex(c, s)
    assert c.secure and s.secure and not c.kexInProgress and not s.kexInProgress
