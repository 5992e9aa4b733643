"""OpenSSH certificates (PROTOCOL.certkeys): a public key, its principals and validity, signed
by a certificate authority's key.

Blob: ``string type, string nonce, <the key's own blob fields>, uint64 serial, uint32 type
(1 user, 2 host), string key id, string principals, uint64 valid after, uint64 valid before,
string critical options, string extensions, string reserved, string CA key, string signature``;
the CA signs every byte before the signature.
"""

from __future__ import annotations

from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from plait.wire._errors import ProtocolError
from plait.wire.ssh._keys import KeyFormatError, PublicKey, parsePublicKeyBlob
from plait.wire.ssh._types import SSHReader, encodeString

USER_CERT = 1
HOST_CERT = 2
CERT_SUFFIX = "-cert-v01@openssh.com"
# certificate type -> (plain key type, how many blob fields the key has after its type)
_PLAIN = {
    "ssh-ed25519": 1,
    "ecdsa-sha2-nistp256": 2,
    "ecdsa-sha2-nistp384": 2,
    "ecdsa-sha2-nistp521": 2,
    "ssh-rsa": 2,
    "sk-ssh-ed25519@openssh.com": 2,
    "sk-ecdsa-sha2-nistp256@openssh.com": 3,
}
_CERT_TYPES = {
    (plain[:-12] if plain.endswith("@openssh.com") else plain) + CERT_SUFFIX: (plain, fields)
    for plain, fields in _PLAIN.items()
}
_CRITICAL = frozenset({"force-command", "source-address", "verify-required"})


class CertificateError(KeyFormatError):
    """A certificate that does not hold here: expired, not yet valid, wrong principal or
    kind, or an unknown critical option."""


def _pairs(data: bytes, what: str) -> dict[str, bytes]:
    r = SSHReader(data)
    found: dict[str, bytes] = {}
    while r.remaining():
        name = r.string().decode("utf-8", "replace")
        value = r.string()
        if name in found:
            raise KeyFormatError(f"certificate {what} {name!r} given twice")
        if value:  # a value is itself a string (flags have an empty one)
            inner = SSHReader(value)
            value = inner.string()
            inner.done()
        found[name] = value
    return found


class Certificate(PublicKey):
    """An OpenSSH certificate (``<type>-cert-v01@openssh.com``), parsed by
    ``parsePublicKeyBlob``; its CA signature is checked when it is parsed.

    ``key`` is the certified key (signatures by the holder verify with it; the fingerprint is
    its fingerprint, as ssh-keygen shows), ``signatureKey`` the CA's. ``check`` says whether
    it holds for a principal at a time.
    """

    key: PublicKey
    signatureKey: PublicKey
    nonce: bytes
    serial: int
    certType: int
    keyID: str
    principals: tuple[str, ...]
    validAfter: int
    validBefore: int
    criticalOptions: dict[str, bytes]
    extensions: dict[str, bytes]

    @property
    def cryptographyKey(
        self,
    ) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
        """The certified key's ``cryptography`` object."""
        return self.key.cryptographyKey

    def bits(self) -> int:
        """The certified key's size."""
        return self.key.bits()

    def signatureAlgorithms(self) -> tuple[str, ...]:
        """The certified key's signature algorithms (a holder signs as the plain key)."""
        return self.key.signatureAlgorithms()

    def verify(
        self,
        signature: bytes,
        data: bytes,
        *,
        allowSHA1: bool = False,
        algorithm: str | None = None,
        requireTouch: bool = True,
        requireVerification: bool = False,
    ) -> bool:
        """A signature by the certificate's holder, checked with the certified key."""
        return self.key.verify(
            signature,
            data,
            allowSHA1=allowSHA1,
            algorithm=algorithm,
            requireTouch=requireTouch,
            requireVerification=requireVerification,
        )

    def fingerprint(self, hashName: Literal["sha256", "md5"] = "sha256") -> str:
        """The certified key's fingerprint (what ``ssh-keygen -l`` prints for a certificate)."""
        return self.key.fingerprint(hashName)

    def toPEM(self) -> bytes:
        """Certificates have no PEM form."""
        raise KeyFormatError("certificates have no PEM form")

    @property
    def forceCommand(self) -> str | None:
        """The ``force-command`` critical option."""
        value = self.criticalOptions.get("force-command")
        return None if value is None else value.decode("utf-8", "replace")

    @property
    def sourceAddresses(self) -> tuple[str, ...] | None:
        """The ``source-address`` critical option's CIDR list."""
        value = self.criticalOptions.get("source-address")
        return None if value is None else tuple(value.decode("ascii", "replace").split(","))

    def check(
        self,
        now: int,
        principal: str | None = None,
        certType: int = USER_CERT,
        requirePrincipal: bool = True,
    ) -> None:
        """Raise ``CertificateError`` unless the certificate holds at ``now`` (seconds since
        the epoch) for ``principal`` as a ``certType`` (``USER_CERT``/``HOST_CERT``)
        certificate; an empty principal list holds for anyone only without
        ``requirePrincipal``; host certificate principals may be wildcard patterns. Unknown
        critical options never hold (PROTOCOL.certkeys)."""
        if self.certType != certType:
            kind = {USER_CERT: "user", HOST_CERT: "host"}.get(self.certType, str(self.certType))
            raise CertificateError(f"certificate is a {kind} certificate")
        if now < self.validAfter:
            raise CertificateError("certificate is not yet valid")
        if now >= self.validBefore:
            raise CertificateError("certificate has expired")
        if principal is not None:
            if self.principals and not self._names(principal):
                raise CertificateError(f"certificate is not valid for {principal!r}")
            if not self.principals and requirePrincipal:
                raise CertificateError("certificate has no principals")
        unknown = sorted(set(self.criticalOptions) - _CRITICAL)
        if unknown:
            raise CertificateError(f"unsupported critical option {unknown[0]!r}")

    def _names(self, principal: str) -> bool:
        if self.certType != HOST_CERT:
            return principal in self.principals
        # host certificates may name hosts by wildcard patterns (as OpenSSH 8.9+ allows)
        from plait.wire.ssh._keys_authorized import matchPattern

        return any(matchPattern(principal, p) for p in self.principals)

    def __repr__(self) -> str:
        return f"<Certificate {self.keyType} {self.keyID!r} {self.fingerprint()}>"


def parseCertificateBlob(blob: bytes, keyType: str) -> Certificate:
    """A certificate blob of ``keyType`` (called by ``parsePublicKeyBlob``)."""
    if keyType not in _CERT_TYPES:
        raise KeyFormatError(f"unsupported certificate type {keyType!r}")
    plain, fieldCount = _CERT_TYPES[keyType]
    try:
        r = SSHReader(blob)
        r.string()
        nonce = r.string()
        start = len(blob) - r.remaining()
        for _ in range(fieldCount):
            r.string()
        keyFields = blob[start : len(blob) - r.remaining()]
        serial, certType = r.uint64(), r.uint32()
        keyID = r.string().decode("utf-8", "replace")
        principalReader = SSHReader(r.string())
        principals = []
        while principalReader.remaining():
            principals.append(principalReader.string().decode("utf-8", "replace"))
        validAfter, validBefore = r.uint64(), r.uint64()
        critical = _pairs(r.string(), "critical option")
        extensions = _pairs(r.string(), "extension")
        r.string()  # reserved
        caBlob = r.string()
        signed = blob[: len(blob) - r.remaining()]
        signature = r.string()
        r.done()
    except ProtocolError as e:
        raise KeyFormatError(f"malformed certificate: {e}") from None
    caType = caBlob[4 : 4 + int.from_bytes(caBlob[:4], "big")]
    if caType.endswith(CERT_SUFFIX.encode()):  # refused before parsing: no chains
        raise KeyFormatError("a certificate's CA key is itself a certificate")
    key = parsePublicKeyBlob(encodeString(plain.encode("ascii")) + keyFields)
    ca = parsePublicKeyBlob(caBlob)
    if certType not in (USER_CERT, HOST_CERT):
        raise KeyFormatError(f"unknown certificate type {certType}")
    if not ca.verify(signature, signed):
        raise KeyFormatError("certificate signature does not verify with its CA key")
    cert = object.__new__(Certificate)
    cert.keyType = keyType
    cert.comment = ""
    cert._blob = blob
    cert.key = key
    cert.signatureKey = ca
    cert.nonce = nonce
    cert.serial = serial
    cert.certType = certType
    cert.keyID = keyID
    cert.principals = tuple(principals)
    cert.validAfter = validAfter
    cert.validBefore = validBefore
    cert.criticalOptions = critical
    cert.extensions = extensions
    return cert
