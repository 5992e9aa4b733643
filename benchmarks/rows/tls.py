"""TLS rows: echo throughput and full-handshake rate over loopback, both ends in one process.

The server and the client run on one reactor/loop in one
process on 127.0.0.1, so a figure is the CPU cost of both ends. Certificates are made at setup
with ``cryptography``: a throwaway CA (EC P-256) and a leaf for ``localhost`` that the client
verifies (hostname included); TLS 1.3 is the minimum on both ends. plait uses ``plait.tls``
(stdlib ``ssl``) through ``listenSSL``/``connectSSL`` on its EPollReactor; Twisted pyOpenSSL's
``CertificateOptions`` (server) and ``optionsForClientTLS`` (client) on its epoll reactor;
asyncio its sslproto (``loop.create_server(ssl=...)`` / ``create_connection``) with Protocols.

``tls.bulk``: one connection; the client writes 64 KiB chunks, at most 4 MiB unechoed, until
64 MiB (32 with ``--quick``) came back; MB/s of echoed bytes. ``tls.handshakes``: 200 (100)
connections one after another, each a full handshake (no session resumption), one byte echoed,
then closed; connections/s. All rounds run in one run of the reactor/loop; the first is a
warm-up.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

from . import Context, Impl, Measure, Row, Target, Unavailable
from ._micro import OPS_PER_CPU_SECOND

CHUNK = 64 * 1024
WINDOW = 4 << 20  # bytes written but not yet echoed, at most


def _bulkBytes(ctx: Context) -> int:
    return (32 if ctx.quick else 64) << 20


def _handshakeCount(ctx: Context) -> int:
    return 100 if ctx.quick else 200


def _certificates() -> tuple[bytes, bytes, bytes]:
    """(CA cert, leaf cert, leaf key) as PEM: a fresh CA and a leaf for localhost, EC P-256."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as e:
        raise Unavailable(f"cryptography not in the benchmark venv: {e}") from e
    now = datetime.datetime.now(datetime.UTC)
    caKey = ec.generate_private_key(ec.SECP256R1())
    caName = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plait bench CA")])
    caCert = (
        x509.CertificateBuilder()
        .subject_name(caName)
        .issuer_name(caName)
        .public_key(caKey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(caKey.public_key()), False)
        .sign(caKey, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(caName)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(caKey.public_key()), False
        )
        .sign(caKey, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    keyPEM = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return caCert.public_bytes(pem), leaf.public_bytes(pem), keyPEM


# --- one workload for both Twisted-shaped reactors (plait and Twisted) ------------------------


class _Kit:
    """What the shared workload needs from a framework: reactor, bases, TLS options."""

    def __init__(
        self,
        reactor: Any,
        protocolBase: type,
        factoryClass: Any,
        clientFactoryClass: Any,
        serverOptions: Any,
        clientOptions: Any,
        run: Callable[[], None],
    ) -> None:
        self.reactor, self.protocolBase = reactor, protocolBase
        self.factoryClass, self.clientFactoryClass = factoryClass, clientFactoryClass
        self.serverOptions, self.clientOptions, self.run = serverOptions, clientOptions, run


def _reactorRounds(ctx: Context, kit: _Kit, bulk: bool) -> list[float]:
    reactor = kit.reactor
    rounds = ctx.samples + 1
    samples: list[float] = []
    cpus: list[float] = []
    errors: list[str] = []
    total, count = _bulkBytes(ctx), _handshakeCount(ctx)
    state = {"t0": 0.0, "cpu": 0.0, "left": 0}

    class Echo(kit.protocolBase):  # type: ignore[name-defined,misc]
        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)

    class BulkClient(kit.protocolBase):  # type: ignore[name-defined,misc]
        def connectionMade(self) -> None:
            self.sent = self.got = 0
            self.payload = b"x" * CHUNK
            self.fill()

        def fill(self) -> None:
            while self.sent < total and self.sent - self.got < WINDOW:
                self.transport.write(self.payload)
                self.sent += CHUNK

        def dataReceived(self, data: bytes) -> None:
            self.got += len(data)
            if self.got >= total:
                endRound(total / 1e6)
                self.transport.loseConnection()
            else:
                self.fill()

    class Pinger(kit.protocolBase):  # type: ignore[name-defined,misc]
        def connectionMade(self) -> None:
            self.transport.write(b"!")

        def dataReceived(self, data: bytes) -> None:
            self.transport.loseConnection()

        def connectionLost(self, reason: Any = None) -> None:
            if state["left"] > 0:
                reactor.callLater(0, connect)
            else:
                endRound(count)

    class Client(kit.clientFactoryClass):  # type: ignore[name-defined,misc]
        protocol = BulkClient if bulk else Pinger

        def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
            errors.append(f"connect failed: {reason.getErrorMessage()}")
            reactor.stop()

    serverFactory = kit.factoryClass()
    serverFactory.protocol = Echo
    port = reactor.listenSSL(0, serverFactory, kit.serverOptions, interface="127.0.0.1")
    portNumber = port.getHost().port
    clientFactory = Client()

    def connect() -> None:
        state["left"] -= 1
        reactor.connectSSL("127.0.0.1", portNumber, clientFactory, kit.clientOptions)

    def startRound() -> None:
        state.update(t0=time.perf_counter(), cpu=time.process_time(), left=1 if bulk else count)
        connect()

    def endRound(ops: float) -> None:
        samples.append(ops / (time.perf_counter() - state["t0"]))
        cpus.append(ops / max(time.process_time() - state["cpu"], 1e-9))
        if len(samples) == rounds:
            reactor.callLater(0.05, reactor.stop)  # let the last close finish
        else:
            reactor.callLater(0, startRound)

    reactor.callWhenRunning(startRound)
    guard = reactor.callLater(60 + rounds * 30, reactor.stop)
    kit.run()
    if guard.active():
        guard.cancel()
    if errors:
        raise RuntimeError(errors[0])
    if len(samples) != rounds:
        raise AssertionError(f"only {len(samples)} of {rounds} rounds completed")
    for value in cpus[1:]:
        ctx.record(OPS_PER_CPU_SECOND, value)
    return samples[1:]


def _plait(bulk: bool) -> Measure:
    def measure(ctx: Context) -> list[float]:
        import ssl

        try:
            from plait.protocol import ClientFactory, Factory, Protocol
            from plait.reactor import EPollReactor
            from plait.tls import clientOptions, serverOptions
        except ImportError as e:
            raise Unavailable(f"plait.tls: {e}") from e
        caPEM, certPEM, keyPEM = _certificates()
        v13 = ssl.TLSVersion.TLSv1_3
        server = serverOptions(certPEM, keyPEM, minimumVersion=v13)
        client = clientOptions("localhost", caPEM, minimumVersion=v13)
        reactor = EPollReactor()
        kit = _Kit(
            reactor,
            Protocol,
            Factory,
            ClientFactory,
            server,
            client,
            lambda: reactor.run(installSignalHandlers=False),
        )
        return _reactorRounds(ctx, kit, bulk)

    return measure


def _twisted(bulk: bool) -> Measure:
    def measure(ctx: Context) -> list[float]:
        from twisted.internet import epollreactor

        epollreactor.install()
        try:
            from twisted.internet import ssl
        except ImportError as e:
            raise Unavailable(f"twisted.internet.ssl (pyOpenSSL): {e}") from e
        from twisted.internet import reactor
        from twisted.internet.protocol import ClientFactory, Factory, Protocol

        caPEM, certPEM, keyPEM = _certificates()
        v13 = ssl.TLSVersion.TLSv1_3
        private = ssl.PrivateCertificate.loadPEM(certPEM + keyPEM)
        server = ssl.CertificateOptions(
            privateKey=private.privateKey.original,
            certificate=private.original,
            raiseMinimumTo=v13,
        )
        client = ssl.optionsForClientTLS(
            "localhost",
            trustRoot=ssl.Certificate.loadPEM(caPEM),
            extraCertificateOptions={"raiseMinimumTo": v13},
        )
        kit = _Kit(
            reactor,
            Protocol,
            Factory,
            ClientFactory,
            server,
            client,
            lambda: reactor.run(installSignalHandlers=False),
        )
        return _reactorRounds(ctx, kit, bulk)

    return measure


def _asyncio(bulk: bool) -> Measure:
    def measure(ctx: Context) -> list[float]:
        import asyncio
        import ssl
        import tempfile
        from pathlib import Path

        caPEM, certPEM, keyPEM = _certificates()
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
            cert.write_bytes(certPEM)
            key.write_bytes(keyPEM)
            server.load_cert_chain(cert, key)
        client = ssl.create_default_context(cadata=caPEM.decode())
        for context in (server, client):
            context.minimum_version = ssl.TLSVersion.TLSv1_3
        total, count = _bulkBytes(ctx), _handshakeCount(ctx)

        class Echo(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def data_received(self, data: bytes) -> None:
                self.transport.write(data)

        class BulkClient(asyncio.Protocol):
            def __init__(self, done: asyncio.Future[None]) -> None:
                self.done, self.sent, self.got = done, 0, 0
                self.payload = b"x" * CHUNK

            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                self.fill()

            def fill(self) -> None:
                while self.sent < total and self.sent - self.got < WINDOW:
                    self.transport.write(self.payload)
                    self.sent += CHUNK

            def data_received(self, data: bytes) -> None:
                self.got += len(data)
                if self.got >= total:
                    if not self.done.done():
                        self.done.set_result(None)
                else:
                    self.fill()

        class Pinger(asyncio.Protocol):
            def __init__(self, done: asyncio.Future[None]) -> None:
                self.done = done

            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                transport.write(b"!")

            def data_received(self, data: bytes) -> None:
                self.transport.close()

            def connection_lost(self, exc: Exception | None) -> None:
                if not self.done.done():
                    self.done.set_result(None)

        async def main() -> list[tuple[float, float]]:
            loop = asyncio.get_running_loop()
            srv = await loop.create_server(Echo, "127.0.0.1", 0, ssl=server)
            portNumber = srv.sockets[0].getsockname()[1]

            async def connection(protocol: type[asyncio.Protocol]) -> Any:
                done: asyncio.Future[None] = loop.create_future()
                transport, _ = await loop.create_connection(
                    lambda: protocol(done),  # type: ignore[call-arg]
                    "127.0.0.1",
                    portNumber,
                    ssl=client,
                    server_hostname="localhost",
                )
                await done
                return transport

            results = []
            for _ in range(ctx.samples + 1):
                cpu, t0 = time.process_time(), time.perf_counter()
                if bulk:
                    transport = await connection(BulkClient)
                    ops: float = total / 1e6
                    wall, used = time.perf_counter() - t0, time.process_time() - cpu
                    transport.close()
                else:
                    for _ in range(count):
                        await connection(Pinger)
                    ops = count
                    wall, used = time.perf_counter() - t0, time.process_time() - cpu
                results.append((ops / wall, ops / max(used, 1e-9)))
                await asyncio.sleep(0.01)
            srv.close()
            await srv.wait_closed()
            return results

        results = asyncio.run(main())[1:]
        for _, perCpu in results:
            ctx.record(OPS_PER_CPU_SECOND, perCpu)
        return [rate for rate, _ in results]

    return measure


def _impls(bulk: bool) -> tuple[Impl, ...]:
    return (
        Impl("plait", _plait(bulk)),
        Impl("twisted", _twisted(bulk)),
        Impl("asyncio", _asyncio(bulk)),
    )


_TARGET = (Target("twisted", 1.0, source="issue 6: TLS at least Twisted (pyOpenSSL)"),)

ROWS = [
    Row(
        id="tls.bulk",
        title="TLS 1.3 echo over 1 loopback connection, 64 KiB writes, both ends in-process",
        unit="MB/s",
        impls=_impls(True),
        targets=_TARGET,
        timeout=lambda ctx: 120 + ctx.samples * 30,
    ),
    Row(
        id="tls.handshakes",
        title="new TLS 1.3 connections one after another (full handshake, 1 byte echoed)",
        unit="conn/s",
        impls=_impls(False),
        targets=_TARGET,
        timeout=lambda ctx: 120 + ctx.samples * 30,
    ),
]
