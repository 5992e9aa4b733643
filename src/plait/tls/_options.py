"""Building ``ssl.SSLContext``s: ``serverOptions`` and ``clientOptions`` (DESIGN.md §8).

A *context factory* is anything with ``getContext() -> ssl.SSLContext`` or an
``ssl.SSLContext`` itself. The builders here return options objects that are context factories
made once (the ``SSLContext`` is built when the options are, and shared by every connection).

PEM material (certificates, keys, trust roots) may be given as a path (``str`` or
``os.PathLike``) or as the PEM ``bytes`` themselves.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ClientTLSOptions",
    "IOpenSSLContextFactory",
    "PEMSource",
    "ServerTLSOptions",
    "clientOptions",
    "contextOf",
    "serverOptions",
]

PEMSource = str | os.PathLike[str] | bytes
"""A path to a PEM file, or PEM bytes."""

_PEM_SUFFIXES = (".pem", ".crt", ".cer")


@runtime_checkable
class IOpenSSLContextFactory(Protocol):
    """Makes the ``ssl.SSLContext`` for a connection (Twisted's name)."""

    def getContext(self) -> ssl.SSLContext:
        """The context to use."""
        ...


def contextOf(contextFactory: object) -> ssl.SSLContext:
    """The ``SSLContext`` a context factory (or an ``SSLContext``) stands for."""
    if isinstance(contextFactory, ssl.SSLContext):
        return contextFactory
    getContext = getattr(contextFactory, "getContext", None)
    if getContext is None:
        raise TypeError(
            f"a TLS context factory needs getContext() or to be an ssl.SSLContext, "
            f"not {type(contextFactory).__name__}"
        )
    context = getContext()
    if not isinstance(context, ssl.SSLContext):
        raise TypeError(f"getContext() returned {type(context).__name__}, not ssl.SSLContext")
    return context


def _protocols(acceptableProtocols: Iterable[str | bytes] | None) -> list[str] | None:
    if acceptableProtocols is None:
        return None
    out = [p.decode("ascii") if isinstance(p, bytes) else p for p in acceptableProtocols]
    if not out:
        raise ValueError("acceptableProtocols must name at least one protocol")
    return out


def _loadChain(
    context: ssl.SSLContext,
    certificate: PEMSource,
    privateKey: PEMSource | None,
    extraCertChain: Sequence[PEMSource] = (),
    password: str | bytes | None = None,
) -> None:
    """Load a certificate, its key and intermediates into ``context`` (from paths or bytes)."""
    if isinstance(certificate, bytes) or isinstance(privateKey, bytes) or extraCertChain:
        # The ssl module loads chains only from files: join the PEM into a private temp file.
        parts = [_read(certificate)]
        parts.extend(_read(c) for c in extraCertChain)
        key = None if privateKey is None else _read(privateKey)
        with tempfile.TemporaryDirectory(prefix="plait-tls-") as d:
            chain = Path(d) / "chain.pem"
            chain.write_bytes(b"\n".join(parts))
            keyfile = None
            if key is not None:
                keyfile = Path(d) / "key.pem"
                fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(key)
            context.load_cert_chain(chain, keyfile, password)
        return
    context.load_cert_chain(
        os.fspath(certificate), None if privateKey is None else os.fspath(privateKey), password
    )


def _read(source: PEMSource) -> bytes:
    if isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


def _loadTrustRoots(context: ssl.SSLContext, trustRoots: PEMSource | Sequence[PEMSource]) -> None:
    """Trust the CA certificates in a PEM file, a directory of PEM files, or PEM bytes."""
    sources: Sequence[PEMSource]
    if isinstance(trustRoots, str | bytes | os.PathLike):  # noqa: SIM108 (mypy narrows here)
        sources = [trustRoots]
    else:
        sources = trustRoots
    for source in sources:
        if isinstance(source, bytes):
            context.load_verify_locations(cadata=source.decode("ascii"))
            continue
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in _PEM_SUFFIXES)
            if not files:
                raise ValueError(f"trust roots directory {path} has no .pem/.crt/.cer files")
            for f in files:
                context.load_verify_locations(cafile=f)
        else:
            context.load_verify_locations(cafile=path)


def _baseContext(purpose: int) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    return context


class ServerTLSOptions:
    """A server's TLS settings: a context factory (``getContext()``) built by ``serverOptions``."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context

    def getContext(self) -> ssl.SSLContext:
        """The shared server context."""
        return self.context


class ClientTLSOptions:
    """A client's TLS settings for one server name: a context factory built by ``clientOptions``.

    ``hostname`` is sent as SNI and checked against the server's certificate.
    """

    def __init__(self, context: ssl.SSLContext, hostname: str | None) -> None:
        self.context = context
        self.hostname = hostname

    def getContext(self) -> ssl.SSLContext:
        """The shared client context."""
        return self.context


def serverOptions(
    certificate: PEMSource,
    privateKey: PEMSource | None = None,
    *,
    extraCertChain: Sequence[PEMSource] = (),
    password: str | bytes | None = None,
    sni: Mapping[str, tuple[PEMSource, PEMSource | None]] | None = None,
    acceptableProtocols: Iterable[str | bytes] | None = None,
    requireClientCertificate: bool = False,
    optionalClientCertificate: bool = False,
    trustRoots: PEMSource | Sequence[PEMSource] | None = None,
    minimumVersion: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
) -> ServerTLSOptions:
    """A server context factory.

    ``certificate`` is the server's certificate (a PEM file or bytes; it may also hold the key
    and intermediates), ``privateKey`` its key when kept apart, ``extraCertChain``
    intermediates sent after it. ``sni`` maps host names (``"*.example.com"`` wildcards
    allowed) to ``(certificate, key)`` served to clients asking for that name; others get the
    default certificate. ``acceptableProtocols`` are the ALPN protocols, in preference order.
    ``requireClientCertificate`` makes the handshake fail without a client certificate signed
    by ``trustRoots``; ``optionalClientCertificate`` asks for one but accepts none (a given one
    must still verify). TLS 1.2 is the minimum version.
    """
    protocols = _protocols(acceptableProtocols)
    if (requireClientCertificate or optionalClientCertificate) and trustRoots is None:
        raise ValueError("client certificates need trustRoots to verify them against")

    def build(cert: PEMSource, key: PEMSource | None, chain: Sequence[PEMSource]) -> ssl.SSLContext:
        context = _baseContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = minimumVersion
        _loadChain(context, cert, key, chain, password)
        if protocols is not None:
            context.set_alpn_protocols(protocols)
        if trustRoots is not None:
            _loadTrustRoots(context, trustRoots)
        if requireClientCertificate:
            context.verify_mode = ssl.CERT_REQUIRED
        elif optionalClientCertificate:
            context.verify_mode = ssl.CERT_OPTIONAL
        return context

    default = build(certificate, privateKey, extraCertChain)
    if sni:
        byName = {name.lower().rstrip("."): build(c, k, ()) for name, (c, k) in sni.items()}

        def chooseBySNI(sslObject: Any, serverName: str | None, _: ssl.SSLContext) -> None:
            if serverName is None:
                return
            name = serverName.lower().rstrip(".")
            chosen = byName.get(name)
            if chosen is None and "." in name:
                chosen = byName.get("*." + name.split(".", 1)[1])
            if chosen is not None:
                sslObject.context = chosen

        default.sni_callback = chooseBySNI
    return ServerTLSOptions(default)


def clientOptions(
    hostname: str | None,
    trustRoots: PEMSource | Sequence[PEMSource] | None = None,
    clientCertificate: PEMSource | tuple[PEMSource, PEMSource] | None = None,
    acceptableProtocols: Iterable[str | bytes] | None = None,
    *,
    insecureNoVerify: bool = False,
    minimumVersion: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
) -> ClientTLSOptions:
    """A client context factory for connecting to ``hostname``.

    The server's certificate is verified, by default against the system's trust store
    (``trustRoots``: a PEM file, a directory of PEM files, PEM bytes, or a list of them, to
    trust those instead), and must name ``hostname`` (a DNS name or an IP literal), which is
    also sent as SNI. ``clientCertificate`` is a PEM holding certificate and key, or a
    ``(certificate, key)`` pair. ``acceptableProtocols`` are the ALPN protocols offered.

    ``insecureNoVerify=True`` turns verification off entirely (any certificate, any name):
    only for tests and for peers authenticated some other way.
    """
    context = _baseContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = minimumVersion
    if insecureNoVerify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif trustRoots is None:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        _loadTrustRoots(context, trustRoots)
    if not insecureNoVerify and not hostname:
        raise ValueError("clientOptions needs the server's hostname to verify its certificate")
    if clientCertificate is not None:
        if isinstance(clientCertificate, tuple):
            _loadChain(context, clientCertificate[0], clientCertificate[1])
        else:
            _loadChain(context, clientCertificate, None)
    protocols = _protocols(acceptableProtocols)
    if protocols is not None:
        context.set_alpn_protocols(protocols)
    return ClientTLSOptions(context, hostname)
