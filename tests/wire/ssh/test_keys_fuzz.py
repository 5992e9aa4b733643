"""Property tests: the key parsers raise nothing but KeyFormatError on any input."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plait.wire.ssh.keys import (
    KeyFormatError,
    KnownHosts,
    PrivateKey,
    loadPrivateKey,
    parseAuthorizedKeys,
    parsePublicKey,
    parsePublicKeyBlob,
)

from .test_keys_cert import makeCert
from .test_keys_sk import SK_EC, FakeAuthenticator

ED = PrivateKey.generate("ed25519")
EC = PrivateKey.generate("ecdsa", 384)
RSA = PrivateKey.generate("rsa", 2048)
# plain keys, a certificate, a security key: every parser branch gets mutated input
BLOBS = [k.publicKey().blob() for k in (ED, EC, RSA)]
BLOBS += [makeCert(critical=(("force-command", b"ls"),)), FakeAuthenticator(SK_EC).blob]
OPENSSH = base64.b64decode(b"".join(ED.toOpenSSH(comment="c").splitlines()[1:-1]))
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutations() -> st.SearchStrategy[bytes]:
    """A valid blob with a byte changed, bytes cut, or bytes inserted."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        blob = draw(st.sampled_from(BLOBS))
        pos = draw(st.integers(0, len(blob)))
        kind = draw(st.sampled_from(["flip", "cut", "insert"]))
        if kind == "flip" and pos < len(blob):
            return blob[:pos] + bytes([blob[pos] ^ draw(st.integers(1, 255))]) + blob[pos + 1 :]
        if kind == "cut":
            return blob[:pos]
        return blob[:pos] + draw(st.binary(min_size=1, max_size=8)) + blob[pos:]

    return mutate()


@FAST
@given(st.binary(max_size=600) | _mutations())
def test_blob_parser_raises_only_key_format_error(blob: bytes) -> None:
    """parsePublicKeyBlob returns a key that round-trips, or raises KeyFormatError."""
    try:
        key = parsePublicKeyBlob(blob)
    except KeyFormatError:
        return
    assert key.blob() == blob


@FAST
@given(st.binary(max_size=300), st.binary(max_size=64))
def test_verify_never_raises(signature: bytes, data: bytes) -> None:
    """verify answers False for any garbage signature, never an exception."""
    for key in (ED, EC, RSA):
        assert key.publicKey().verify(signature, data) is False


@FAST
@given(st.data())
def test_private_key_parser(data: st.DataObject) -> None:
    """A mutated openssh-key-v1 body loads (unchanged key) or raises KeyFormatError."""
    pos = data.draw(st.integers(0, len(OPENSSH) - 1))
    body = OPENSSH[:pos] + bytes([OPENSSH[pos] ^ data.draw(st.integers(1, 255))])
    body += OPENSSH[pos + 1 :] if data.draw(st.booleans()) else b""
    armoured = (
        b"-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + base64.b64encode(body)
        + b"\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    try:
        key = loadPrivateKey(armoured)
    except KeyFormatError:
        return
    assert key.publicKey() == ED.publicKey()


_TOKENS = [*'abc=",\\!*?[]:@|#/ \t-AZ019', "ssh-ed25519", "AAAA", "from=", "restrict"]
_TOKENS.append(ED.publicKey().toOpenSSH().decode())
_LINE_TEXT = st.lists(st.sampled_from(_TOKENS), max_size=20).map("".join)


@FAST
@given(st.lists(_LINE_TEXT, max_size=5))
def test_line_parsers(lines: list[str]) -> None:
    """Leniently, authorized_keys and known_hosts never raise; strictly, and for public key
    lines, only KeyFormatError."""
    text = "\n".join(lines)
    entries = parseAuthorizedKeys(text)
    known = KnownHosts.parse(text)
    assert len(entries) + len(known.entries) <= 2 * len(lines)
    for strictParse in (
        lambda: parseAuthorizedKeys(text, strict=True),
        lambda: KnownHosts.parse(text, strict=True),
        lambda: parsePublicKey(text),
    ):
        try:
            strictParse()
        except KeyFormatError:
            pass


@FAST
@given(_LINE_TEXT)
def test_option_strings(options: str) -> None:
    """Any option prefix on a good key line parses or raises KeyFormatError."""
    line = options + " " + ED.publicKey().toOpenSSH().decode()
    try:
        entries = parseAuthorizedKeys(line, strict=True)
    except KeyFormatError:
        return
    assert all(e.key == ED.publicKey() for e in entries)
