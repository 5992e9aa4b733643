"""OpenSSH's ``ssh`` client against plait's ``SSHServerTransport``: every kex, host key, cipher
and MAC chosen explicitly completes the key exchange (strict kex, ext-info) and reaches user
authentication, which a refusing userauth service then fails."""

from __future__ import annotations

import re
from typing import Any

import pytest

from plait.log import formatEvent, globalLogPublisher
from plait.ssh.transport import SSHServerFactory
from plait.wire.ssh.keys import PrivateKey

from .sshpeers import RefusingUserAuth, inThread, needSSH, newReactor, runSSH

pytestmark = needSSH

KEX = [
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
]
CIPHERS = [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
]
MACS = [
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
]
HOST_KEYS = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
]


@pytest.fixture(scope="module")
def hostKeys() -> list[PrivateKey]:
    """One host key of each type."""
    return [
        PrivateKey.generate("ed25519"),
        PrivateKey.generate("ecdsa", 256),
        PrivateKey.generate("ecdsa", 384),
        PrivateKey.generate("ecdsa", 521),
        PrivateKey.generate("rsa", 2048),
    ]


def _connect(hostKeys: list[PrivateKey], *options: str) -> tuple[str, list[str]]:
    """Run ``ssh -vvv OPTIONS`` against a fresh plait server; (ssh's stderr, server log)."""
    reactor = newReactor()
    logged: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "plait.ssh.transport":
            logged.append(formatEvent(event))

    factory = SSHServerFactory(hostKeys, {b"ssh-userauth": RefusingUserAuth}, reactor=reactor)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    globalLogPublisher.addObserver(observe)
    try:
        result = inThread(reactor, lambda: runSSH(port.getHost().port, *options))
    finally:
        globalLogPublisher.removeObserver(observe)
        port.stopListening()
        reactor.close()
    return result.stderr, logged


def _assertKex(stderr: str, logged: list[str], **expect: str) -> None:
    assert "will use strict KEX ordering" in stderr, stderr[-3000:]
    for what, value in expect.items():
        assert re.search(rf"kex: {what}[^\n]*{re.escape(value)}", stderr), (what, stderr[-3000:])
    assert "kex_input_ext_info: server-sig-algs=" in stderr
    assert "Permission denied (publickey)" in stderr, stderr[-3000:]
    assert any("key exchange complete" in line for line in logged), logged


@pytest.mark.parametrize("kex", KEX)
def test_kex(hostKeys: list[PrivateKey], kex: str) -> None:
    """ssh completes each key exchange method with plait's server."""
    stderr, logged = _connect(hostKeys, "-o", f"KexAlgorithms={kex}")
    _assertKex(stderr, logged, algorithm=kex)


@pytest.mark.parametrize("cipher", CIPHERS)
def test_cipher(hostKeys: list[PrivateKey], cipher: str) -> None:
    """ssh completes the key exchange with each cipher (both directions)."""
    stderr, logged = _connect(hostKeys, "-o", f"Ciphers={cipher}")
    _assertKex(stderr, logged, **{"client->server cipher": cipher})
    assert f"server->client cipher: {cipher}" in stderr


@pytest.mark.parametrize("mac", MACS)
def test_mac(hostKeys: list[PrivateKey], mac: str) -> None:
    """ssh completes the key exchange with each MAC (with aes128-ctr)."""
    stderr, logged = _connect(hostKeys, "-o", "Ciphers=aes128-ctr", "-o", f"MACs={mac}")
    _assertKex(stderr, logged, **{"client->server cipher": f"aes128-ctr MAC: {mac}"})


@pytest.mark.parametrize("alg", HOST_KEYS)
def test_host_key_algorithm(hostKeys: list[PrivateKey], alg: str) -> None:
    """ssh verifies plait's host key signature for each host key algorithm."""
    stderr, logged = _connect(hostKeys, "-o", f"HostKeyAlgorithms={alg}")
    _assertKex(stderr, logged, **{"host key algorithm": alg})


def test_compression_negotiated(hostKeys: list[PrivateKey]) -> None:
    """``-C`` negotiates zlib@openssh.com (delayed until authentication)."""
    stderr, logged = _connect(hostKeys, "-C")
    _assertKex(stderr, logged, **{"client->server cipher": "compression: zlib@openssh.com"})
