"""plait's ``SSHClientTransport`` against OpenSSH's ``sshd``: every kex, host key, cipher and
MAC completes the key exchange and user authentication answers; publickey login and an exec
whose output crosses several rekeys (ours and sshd's) and zlib@openssh.com compression; a host
key the client does not trust ends the connection."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.defer import Deferred
from plait.log import formatEvent, globalLogPublisher
from plait.ssh.transport import SSHClientFactory, SSHClientTransport
from plait.wire.ssh.keys import PublicKey, loadPrivateKey

from .sshpeers import (
    ExecCollector,
    OpenSSHServer,
    ProbeUserAuth,
    newReactor,
    openSSHServer,
    runUntil,
    sshd,
)
from .test_ssh_transport_openssh import CIPHERS, HOST_KEYS, KEX, MACS

__all__ = ["sshd"]  # the fixture, imported for pytest


class _Recording(SSHClientTransport):
    def connectionLost(self, reason: Any = None) -> None:
        super().connectionLost(reason) if reason is not None else super().connectionLost()
        lost = getattr(self.factory, "lost", None)
        if lost is not None and not lost.called:
            lost.callback(self)


def _run(
    server: OpenSSHServer,
    verify: Any = None,
    key: Any = None,
    command: str | None = None,
    **options: Any,
) -> tuple[Any, Any, list[str]]:
    """Connect a plait client; (the service's result, the transport, transport log lines)."""
    reactor = newReactor()
    expected = set(server.hostPublicKeys.values())
    done: Deferred[Any] = Deferred()
    nextService = (lambda: ExecCollector(done, command)) if command else None
    factory = SSHClientFactory(
        verify or (lambda k: k in expected),
        lambda: ProbeUserAuth(done, server.user, key, nextService),
        reactor=reactor,
        **options,
    )
    factory.protocol = _Recording
    factory.lost = Deferred()  # type: ignore[attr-defined]
    built: list[SSHClientTransport] = []
    original = factory.buildProtocol

    def build(addr: Any) -> Any:
        protocol = original(addr)
        built.append(protocol)  # type: ignore[arg-type]
        return protocol

    factory.buildProtocol = build  # type: ignore[method-assign]
    logged: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "plait.ssh.transport":
            logged.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    try:
        reactor.connectTCP("127.0.0.1", server.port, factory)
        first: Deferred[Any] = Deferred()
        done.addBoth(lambda r: first.called or first.callback(("done", r)))
        factory.lost.addBoth(  # type: ignore[attr-defined]
            lambda r: reactor.callLater(0.2, lambda: first.called or first.callback(("lost", r)))
        )
        result = runUntil(reactor, first)
    finally:
        globalLogPublisher.removeObserver(observe)
        reactor.close()
    return result, built[0], logged


def _assertReachedAuth(result: Any, transport: SSHClientTransport) -> None:
    assert result == ("done", ("failure", ["publickey"])), result
    assert transport.machine.algorithms is not None
    assert transport.machine.algorithms.strict


@pytest.mark.parametrize("kex", KEX)
def test_kex(sshd: OpenSSHServer, kex: str) -> None:
    """Each key exchange method completes against sshd."""
    result, transport, _ = _run(sshd, kexAlgorithms=[kex])
    _assertReachedAuth(result, transport)
    assert transport.machine.algorithms.kex == kex


@pytest.mark.parametrize("cipher", CIPHERS)
def test_cipher(sshd: OpenSSHServer, cipher: str) -> None:
    """Each cipher protects packets both ways with sshd."""
    result, transport, _ = _run(sshd, ciphers=[cipher])
    _assertReachedAuth(result, transport)
    assert transport.machine.algorithms.cipherCS == transport.machine.algorithms.cipherSC == cipher


@pytest.mark.parametrize("mac", MACS)
def test_mac(sshd: OpenSSHServer, mac: str) -> None:
    """Each MAC (with aes256-ctr) authenticates packets both ways with sshd."""
    result, transport, _ = _run(sshd, ciphers=["aes256-ctr"], macs=[mac])
    _assertReachedAuth(result, transport)
    assert transport.machine.algorithms.macCS == transport.machine.algorithms.macSC == mac


@pytest.mark.parametrize("alg", HOST_KEYS)
def test_host_key_algorithm(sshd: OpenSSHServer, alg: str) -> None:
    """sshd's host key signature verifies for each host key algorithm; the key is sshd's."""
    seen: list[PublicKey] = []
    expected = sshd.hostPublicKeys

    def verify(key: PublicKey) -> bool:
        seen.append(key)
        return key in expected.values()

    result, transport, _ = _run(sshd, verify, hostKeyAlgorithms=[alg])
    _assertReachedAuth(result, transport)
    keyType = "ssh-rsa" if alg.startswith("rsa-") else alg
    assert seen == [expected[keyType]]


def test_untrusted_host_key_refused(sshd: OpenSSHServer) -> None:
    """A host key the client does not trust ends the connection before authentication."""
    result, transport, logged = _run(sshd, lambda key: False)
    assert result[0] == "lost"
    assert transport.machine.closed
    assert any("refused" in line for line in logged), logged


def _login(server: OpenSSHServer, command: str, **options: Any) -> tuple[Any, list[str]]:
    key = loadPrivateKey(server.clientKey.read_bytes())
    result, _, logged = _run(server, key=key, command=command, **options)
    assert result[0] == "done", (result, server.output()[-2000:])
    return result[1], logged


def test_exec_across_our_rekeys(sshd: OpenSSHServer) -> None:
    """8 MiB of exec output arrive across client-initiated rekeys (every MiB received)."""
    size = 8 * 1024 * 1024
    (received, _, status), logged = _login(
        sshd, f"head -c {size} /dev/urandom", rekeyBytes=1024 * 1024
    )
    assert (received, status) == (size, 0)
    assert sum("rekey complete" in line for line in logged) >= 5, logged


def test_exec_with_delayed_compression(sshd: OpenSSHServer) -> None:
    """zlib@openssh.com starts after authentication; 16 MiB of zeros arrive intact."""
    size = 16 * 1024 * 1024
    (received, digest, status), logged = _login(
        sshd, f"head -c {size} /dev/zero", compressions=["zlib@openssh.com"]
    )
    assert (received, digest, status) == (size, hashlib.sha256(bytes(size)).hexdigest(), 0)
    assert any("compression zlib@openssh.com" in line for line in logged)


@pytest.fixture(scope="module")
def sshdRekeying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSSHServer]:
    """An sshd that rekeys after every megabyte it sends or receives."""
    with openSSHServer(Path(tmp_path_factory.mktemp("sshd-rekey")), "RekeyLimit 1M\n") as s:
        yield s


@pytest.mark.parametrize("cipher", ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"])
def test_exec_across_server_rekeys(sshdRekeying: OpenSSHServer, cipher: str) -> None:
    """sshd-initiated rekeys (RekeyLimit 1M) during 6 MiB of output are followed."""
    size = 6 * 1024 * 1024
    (received, _, status), logged = _login(
        sshdRekeying, f"head -c {size} /dev/urandom | tee /dev/null", ciphers=[cipher]
    )
    assert (received, status) == (size, 0)
    assert sum("rekey complete" in line for line in logged) >= 3, logged
