"""SSH keys: public and private keys, signatures, fingerprints, key files and lines.

- ``PublicKey`` (``keyType``, ``blob()``, ``verify(signature, data)``, ``fingerprint()``,
  ``toOpenSSH()``), read with ``parsePublicKeyBlob`` (RFC 4253 §6.6 blobs) or
  ``parsePublicKey`` (an OpenSSH line, RFC 4716 block or PEM).
- ``PrivateKey`` (``sign(data, algorithm)``, ``publicKey()``, ``toOpenSSH(passphrase)``,
  ``toPEM(passphrase)``, ``PrivateKey.generate(kind, bits)``), read with ``loadPrivateKey``
  (openssh-key-v1 plain or bcrypt-encrypted; PEM PKCS#1/PKCS#8/SEC1 plain or encrypted).
- ``parseAuthorizedKeys`` -> ``AuthorizedKey`` (``key``, ``options``: an
  ``AuthorizedKeyOptions`` with sshd's semantics, ``allowsFrom``, ``allowsOpen``...).
- ``KnownHosts.parse(data).verify(host, port, key)`` -> ``"match"``/``"mismatch"``/
  ``"revoked"``/``"unknown"``; ``KnownHosts.line`` writes an entry (hashed if asked).
- ``matchPatternList``: OpenSSH's ``*``/``?``/``!`` pattern lists.

Key types: ``ssh-ed25519``, ``ecdsa-sha2-nistp256/384/521`` and ``ssh-rsa`` (signing with
``rsa-sha2-512``/``rsa-sha2-256``; SHA-1 ``ssh-rsa`` signatures only when asked for). RSA keys
outside 1024..16384 bits are refused. FIDO security-key public keys
(``sk-ssh-ed25519@openssh.com``, ``sk-ecdsa-sha2-nistp256@openssh.com``) are read and verified
(user presence required unless ``requireTouch=False``).

OpenSSH certificates (``*-cert-v01@openssh.com``) parse to ``Certificate`` (a ``PublicKey``
whose CA signature has been checked): ``check(now, principal, certType)`` for validity,
``AuthorizedKey.certificateOptions`` for ``cert-authority`` lines in ``authorized_keys``, and
``KnownHosts.verify(..., now=)`` for ``@cert-authority`` lines in ``known_hosts``.

Errors: ``KeyFormatError`` (a ``ValueError``) for anything that is not a key, with the subclasses
``EncryptedKeyError`` (a passphrase is needed), ``BadPassphraseError`` and ``CertificateError``
(a certificate that does not hold). ``verify`` never
raises on a bad signature: it answers ``False``.
"""

from plait.wire.ssh._keys import (
    KEY_TYPES,
    BadPassphraseError,
    EncryptedKeyError,
    KeyFormatError,
    PrivateKey,
    PublicKey,
    parsePublicKeyBlob,
    splitSignature,
)
from plait.wire.ssh._keys_authorized import (
    AuthorizedKey,
    AuthorizedKeyOptions,
    matchPatternList,
    parseAuthorizedKeys,
)
from plait.wire.ssh._keys_cert import HOST_CERT, USER_CERT, Certificate, CertificateError
from plait.wire.ssh._keys_files import loadPrivateKey, parsePublicKey
from plait.wire.ssh._keys_known import KnownHosts, KnownHostsEntry

__all__ = [
    "HOST_CERT",
    "KEY_TYPES",
    "USER_CERT",
    "AuthorizedKey",
    "AuthorizedKeyOptions",
    "BadPassphraseError",
    "Certificate",
    "CertificateError",
    "EncryptedKeyError",
    "KeyFormatError",
    "KnownHosts",
    "KnownHostsEntry",
    "PrivateKey",
    "PublicKey",
    "loadPrivateKey",
    "matchPatternList",
    "parseAuthorizedKeys",
    "parsePublicKey",
    "parsePublicKeyBlob",
    "splitSignature",
]
