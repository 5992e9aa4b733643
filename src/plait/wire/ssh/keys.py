"""SSH keys: public and private keys, signatures, fingerprints, key files and lines.

- ``PublicKey`` (``keyType``, ``blob()``, ``verify(signature, data)``, ``fingerprint()``,
  ``toOpenSSH()``), read with ``parsePublicKeyBlob`` (RFC 4253 §6.6 blobs) or
  ``parsePublicKey`` (an OpenSSH line, RFC 4716 block or PEM).
- ``PrivateKey`` (``sign(data, algorithm)``, ``publicKey()``, ``toOpenSSH(passphrase)``,
  ``toPEM(passphrase)``, ``PrivateKey.generate(kind, bits)``), read with ``loadPrivateKey``.

Key types: ``ssh-ed25519``, ``ecdsa-sha2-nistp256/384/521`` and ``ssh-rsa`` (signing with
``rsa-sha2-512``/``rsa-sha2-256``; SHA-1 ``ssh-rsa`` signatures only when asked for).

Errors: ``KeyFormatError`` (a ``ValueError``) for anything that is not a key, with the subclasses
``EncryptedKeyError`` (a passphrase is needed) and ``BadPassphraseError``.
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
from plait.wire.ssh._keys_files import loadPrivateKey, parsePublicKey

__all__ = [
    "KEY_TYPES",
    "BadPassphraseError",
    "EncryptedKeyError",
    "KeyFormatError",
    "PrivateKey",
    "PublicKey",
    "loadPrivateKey",
    "parsePublicKey",
    "parsePublicKeyBlob",
    "splitSignature",
]
