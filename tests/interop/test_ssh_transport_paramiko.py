"""paramiko as a second SSH peer: paramiko's client against plait's server and plait's client
against paramiko's server, for each key exchange (ML-KEM hybrid included), cipher and MAC both
implement."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from plait.defer import Deferred
from plait.ssh.transport import SSHClientFactory, SSHServerFactory
from plait.wire.ssh.keys import PrivateKey, PublicKey, parsePublicKeyBlob

from .sshpeers import ProbeUserAuth, RefusingUserAuth, inThread, newReactor, runUntil

paramiko = pytest.importorskip("paramiko")

KEX = [
    "mlkem768x25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
]
CIPHERS = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr"]
MACS = [
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
]
CASES = [("kex", k) for k in KEX] + [("cipher", c) for c in CIPHERS] + [("mac", m) for m in MACS]


def _paramikoOptions(transport: Any, kind: str, name: str) -> None:
    options = transport.get_security_options()
    if kind == "kex":
        options.kex = [name]
    elif kind == "cipher":
        options.ciphers = [name]
    else:
        options.ciphers = ["aes128-ctr"]
        options.digests = [name]


def _plaitOptions(kind: str, name: str) -> dict[str, Any]:
    if kind == "kex":
        return {"kexAlgorithms": [name]}
    if kind == "cipher":
        return {"ciphers": [name]}
    return {"ciphers": ["aes128-ctr"], "macs": [name]}


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_paramiko_client(kind: str, name: str) -> None:
    """paramiko's client completes the exchange with plait's server and is refused auth."""
    reactor = newReactor()
    factory = SSHServerFactory(
        [PrivateKey.generate("ed25519")], {b"ssh-userauth": RefusingUserAuth}, reactor=reactor
    )
    port = reactor.listenTCP(0, factory, interface="127.0.0.1").getHost().port

    def client() -> tuple[str, str, list[str]]:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            transport = paramiko.Transport(sock)
            try:
                _paramikoOptions(transport, kind, name)
                transport.start_client(timeout=20)
                try:
                    transport.auth_none("nobody")
                except paramiko.BadAuthenticationType as e:
                    allowed = list(e.allowed_types)
                else:
                    allowed = []
                return transport.kex_engine.__class__.__name__, transport.remote_cipher, allowed
            finally:
                transport.close()

    try:
        _, cipher, allowed = inThread(reactor, client)
    finally:
        reactor.close()
    assert allowed == ["publickey"]
    if kind == "cipher":
        assert cipher == name


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_paramiko_server(kind: str, name: str) -> None:
    """plait's client completes the exchange with paramiko's server and reaches userauth."""
    hostKey = paramiko.ECDSAKey.generate(bits=256)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError as e:
            errors.append(e)
            return
        transport = paramiko.Transport(conn)
        try:
            transport.add_server_key(hostKey)
            _paramikoOptions(transport, kind, name)
            transport.start_server(server=paramiko.ServerInterface())
            transport.join(20)
        except Exception as e:  # reported by the assertion below
            errors.append(e)
        finally:
            transport.close()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    reactor = newReactor()
    expected = parsePublicKeyBlob(hostKey.asbytes())
    seen: list[PublicKey] = []
    done: Deferred[Any] = Deferred()
    factory = SSHClientFactory(
        lambda key: seen.append(key) or key == expected,
        lambda: ProbeUserAuth(done, "nobody"),
        reactor=reactor,
        **_plaitOptions(kind, name),
    )
    try:
        reactor.connectTCP("127.0.0.1", port, factory)
        result = runUntil(reactor, done)
    finally:
        reactor.close()
        listener.close()
        server.join(20)
    assert result == ("failure", ["password"]), errors
    assert seen == [expected]
