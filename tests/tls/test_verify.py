"""Certificate verification, SNI, ALPN and client certificates, over in-memory pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import ClientFactory, ConnectionLost, Factory, Protocol, SSLError
from plait.testing import connect, failureResultOf, successResultOf
from plait.tls import (
    TLSError,
    TLSFactory,
    TLSProtocol,
    TLSVerificationError,
    clientOptions,
    contextOf,
    serverOptions,
)

from .certs import CA, Leaf
from .pairs import Recorder, tlsPair, wrapped


def handshakeFailure(serverOpts: Any, clientOpts: Any) -> tuple[Failure, TLSProtocol]:
    """Run a handshake expected to fail; return the client's failure and the server side."""
    s, c, pump = tlsPair(serverOpts, clientOpts, greet=False)
    d = c.whenHandshakeDone()
    pump.flush()
    return failureResultOf(d), s


def test_unknown_ca(serverLeaf: Leaf, otherCA: CA) -> None:
    """A certificate from an untrusted CA: TLSVerificationError naming the reason."""
    f, s = handshakeFailure(
        serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM),
        clientOptions("localhost", trustRoots=otherCA.certPEM),
    )
    assert f.check(TLSVerificationError)
    assert "certificate verify failed: unable to get local issuer certificate" in str(f.value)
    assert f.value.verifyCode == 20
    assert isinstance(f.value, SSLError)
    # The server learns it too (the client's alert), and never connects its protocol.
    assert s.finalReason is not None and s.finalReason.check(TLSError)
    assert wrapped(s).made == 0 and wrapped(s).lost == []


def test_wrong_host_name(serverLeaf: Leaf, ca: CA) -> None:
    """A certificate for another name: TLSVerificationError saying Hostname mismatch."""
    f, _ = handshakeFailure(
        serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM),
        clientOptions("wrong.test", trustRoots=ca.certPEM),
    )
    assert f.check(TLSVerificationError)
    assert "Hostname mismatch" in str(f.value)
    assert "wrong.test" in str(f.value)


def test_expired_certificate(ca: CA) -> None:
    """An expired certificate: TLSVerificationError saying it has expired."""
    leaf = ca.expired("localhost")
    f, _ = handshakeFailure(
        serverOptions(leaf.certPEM, leaf.keyPEM), clientOptions("localhost", ca.certPEM)
    )
    assert f.check(TLSVerificationError)
    assert "certificate has expired" in str(f.value)


def test_ip_address_host(serverLeaf: Leaf, ca: CA) -> None:
    """An IP literal is checked against the certificate's IP addresses."""
    _s, c, _ = tlsPair(
        serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM),
        clientOptions("127.0.0.1", ca.certPEM),
    )
    assert wrapped(c).made == 1


def test_insecure_no_verify(serverLeaf: Leaf) -> None:
    """insecureNoVerify=True accepts a certificate from an unknown CA for any name."""
    _s, c, _ = tlsPair(
        serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM),
        clientOptions("whatever.test", insecureNoVerify=True),
    )
    assert wrapped(c).made == 1
    assert c.getPeerCertificate() == {}  # not verified, so not parsed
    assert isinstance(c.getPeerCertificate(binary=True), bytes)


def test_verification_needs_a_hostname() -> None:
    """Verifying without a host name is refused up front."""
    with pytest.raises(ValueError, match="hostname"):
        clientOptions(None)


class Plain(Protocol):
    """A plaintext server greeting like SMTP, recording what it got."""

    def connectionMade(self) -> None:
        self.got = b""
        assert self.transport is not None
        self.transport.write(b"220 hello, plain text here\r\n")

    def dataReceived(self, data: bytes) -> None:
        self.got += data


def test_plaintext_server(ca: CA) -> None:
    """A TLS client talking to a plaintext server: TLSError saying the peer is not TLS."""
    c = TLSProtocol(None, Recorder(), clientOptions("localhost", ca.certPEM), isClient=True)
    pump = connect(Plain(), c, greet=False)
    d = c.whenHandshakeDone()
    pump.flush()
    f = failureResultOf(d, TLSError)
    assert "does not seem to speak TLS" in str(f.value)


def test_plaintext_client(serverLeaf: Leaf) -> None:
    """A plaintext client of a TLS server: the server fails the handshake with TLSError."""
    s = TLSProtocol(None, Recorder(), serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM), False)
    client = Recorder()
    client.greeting = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    pump = connect(s, client)
    pump.flush()
    assert s.finalReason is not None
    assert s.finalReason.check(TLSError)
    assert "does not seem to speak TLS" in str(s.finalReason.value)
    assert client.lost and client.lost[0].check(ConnectionLost) is None  # closed, after an alert


def test_sni_chooses_certificate(ca: CA) -> None:
    """The client's SNI name picks the certificate (exact names and wildcards)."""
    default = ca.issue("default.test")
    alpha = ca.issue("alpha.test")
    wild = ca.issue("*.beta.test")
    opts = serverOptions(
        default.certPEM,
        default.keyPEM,
        sni={
            "alpha.test": (alpha.certPEM, alpha.keyPEM),
            "*.beta.test": (wild.certPEM, wild.keyPEM),
        },
    )
    for name in ("alpha.test", "x.beta.test", "default.test"):
        _s, c, _ = tlsPair(opts, clientOptions(name, ca.certPEM))
        assert wrapped(c).made == 1, name
        assert c.getServerName() == name
    f, _ = handshakeFailure(opts, clientOptions("gamma.test", ca.certPEM))
    assert "Hostname mismatch" in str(f.value)


@pytest.mark.parametrize(
    ("server", "client", "expected"),
    [
        (["h2", "http/1.1"], ["http/1.1", "h2"], b"h2"),
        ([b"http/1.1"], ["h2", "http/1.1"], b"http/1.1"),
        (["h2"], None, None),
    ],
)
def test_alpn(serverLeaf: Leaf, ca: CA, server: Any, client: Any, expected: Any) -> None:
    """ALPN: the server's preferred common protocol is negotiatedProtocol on both sides."""
    s, c, _ = tlsPair(
        serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM, acceptableProtocols=server),
        clientOptions("localhost", ca.certPEM, acceptableProtocols=client),
    )
    assert c.negotiatedProtocol == expected
    assert s.negotiatedProtocol == expected


def test_client_certificate_required_and_given(serverLeaf: Leaf, ca: CA) -> None:
    """A required client certificate is verified and visible to the server."""
    me = ca.issue("alice", client=True)
    s, _c, _pump = tlsPair(
        serverOptions(
            serverLeaf.certPEM,
            serverLeaf.keyPEM,
            requireClientCertificate=True,
            trustRoots=ca.certPEM,
        ),
        clientOptions("localhost", ca.certPEM, clientCertificate=(me.certPEM, me.keyPEM)),
    )
    assert wrapped(s).made == 1
    cert = s.getPeerCertificate()
    assert dict(x[0] for x in cert["subject"])["commonName"] == "alice"


def test_client_certificate_required_but_missing(serverLeaf: Leaf, ca: CA) -> None:
    """No client certificate where one is required: both sides fail with a clear error."""
    opts = serverOptions(
        serverLeaf.certPEM, serverLeaf.keyPEM, requireClientCertificate=True, trustRoots=ca.certPEM
    )
    s, c, _pump = tlsPair(opts, clientOptions("localhost", ca.certPEM))
    assert wrapped(s).made == 0
    assert s.finalReason is not None and s.finalReason.check(TLSVerificationError)
    # TLS 1.3: the client finished its handshake first, then hears the server's alert.
    reason = wrapped(c).lost[0]
    assert reason.check(TLSVerificationError)
    assert "certificate" in str(reason.value)


def test_client_certificate_from_unknown_ca(serverLeaf: Leaf, ca: CA, otherCA: CA) -> None:
    """A client certificate from an untrusted CA is refused."""
    me = otherCA.issue("mallory", client=True)
    opts = serverOptions(
        serverLeaf.certPEM, serverLeaf.keyPEM, requireClientCertificate=True, trustRoots=ca.certPEM
    )
    s, _c, _pump = tlsPair(opts, clientOptions("localhost", ca.certPEM, (me.certPEM, me.keyPEM)))
    assert s.finalReason is not None
    assert "unable to get local issuer certificate" in str(s.finalReason.value)


def test_client_certificate_optional(serverLeaf: Leaf, ca: CA) -> None:
    """An optional client certificate: none is fine (getPeerCertificate is None)."""
    opts = serverOptions(
        serverLeaf.certPEM, serverLeaf.keyPEM, optionalClientCertificate=True, trustRoots=ca.certPEM
    )
    s, _c, _ = tlsPair(opts, clientOptions("localhost", ca.certPEM))
    assert wrapped(s).made == 1
    assert s.getPeerCertificate() is None
    me = ca.issue("bob", client=True)
    s, _c, _ = tlsPair(opts, clientOptions("localhost", ca.certPEM, (me.certPEM, me.keyPEM)))
    assert s.getPeerCertificate()["subject"]


def test_client_certificates_need_trust_roots(serverLeaf: Leaf) -> None:
    """Asking for client certificates without trust roots is a ValueError."""
    with pytest.raises(ValueError, match="trustRoots"):
        serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM, requireClientCertificate=True)


def test_options_from_files_and_directories(tmp_path: Path, ca: CA) -> None:
    """Certificates, keys, chains and trust roots load from PEM files and a directory."""
    intermediate = CA("intermediate")
    leafCert, leafKey = ca.issue("localhost").write(tmp_path, "leaf")
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "ca.pem").write_bytes(ca.certPEM)
    (roots / "other.crt").write_bytes(intermediate.certPEM)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(intermediate.certPEM)
    opts = serverOptions(str(leafCert), leafKey, extraCertChain=[chain])
    for trust in (roots, ca.certPEM, str(roots / "ca.pem"), [roots / "ca.pem"]):
        _s, c, _ = tlsPair(opts, clientOptions("localhost", trust))
        assert wrapped(c).made == 1, trust
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no \.pem"):
        clientOptions("localhost", empty)
    # The certificate and key in one file.
    both = tmp_path / "both.pem"
    both.write_bytes(leafCert.read_bytes() + leafKey.read_bytes())
    _s, c, _ = tlsPair(serverOptions(both), clientOptions("localhost", ca.certPEM))
    assert wrapped(c).made == 1


def test_context_of_rejects_other_objects() -> None:
    """Something that is neither an SSLContext nor a context factory is a TypeError."""
    with pytest.raises(TypeError, match="getContext"):
        contextOf(object())
    with pytest.raises(TypeError):
        TLSFactory(42, True, Factory())


class Failed(ClientFactory):
    """Records clientConnectionFailed / Lost."""

    protocol = Recorder

    def __init__(self) -> None:
        self.failed: list[Failure] = []
        self.lostReasons: list[Failure] = []

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.failed.append(reason)

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.lostReasons.append(reason)


def test_factory_reports_failed_handshake_as_failed_connect(serverLeaf: Leaf, otherCA: CA) -> None:
    """TLSFactory turns a client's failed handshake into clientConnectionFailed."""
    userFactory = Failed()
    cf = TLSFactory(clientOptions("localhost", otherCA.certPEM), True, userFactory)
    sf = TLSFactory(
        serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM), False, Factory.forProtocol(Recorder)
    )
    c, s = cf.buildProtocol(None), sf.buildProtocol(None)
    assert c is not None and s is not None
    pump = connect(s, c)
    pump.flush()
    cf.clientConnectionLost(None, Failure(ConnectionLost()))
    assert userFactory.lostReasons == []
    assert userFactory.failed[0].check(TLSVerificationError)
    assert cf.protocols == {} and sf.protocols == {}


def test_factory_reports_clean_close_as_lost(serverLeaf: Leaf, ca: CA) -> None:
    """After a good handshake the factory hears clientConnectionLost with the TLS reason."""
    userFactory = Failed()
    cf = TLSFactory(clientOptions("localhost", ca.certPEM), True, userFactory)
    c = cf.buildProtocol(None)
    s = TLSProtocol(None, Recorder(), serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM), False)
    assert c is not None
    pump = connect(s, c)
    successResultOf(c.whenHandshakeDone())
    pump.serverIO.loseConnection()  # cut, no close_notify
    pump.flush()
    cf.clientConnectionLost(None, Failure(ConnectionLost()))
    assert userFactory.failed == []
    assert userFactory.lostReasons[0].check(ConnectionLost)
