"""known_hosts parsing, verification and writing (plait.wire.ssh.keys.KnownHosts)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from plait.wire.ssh.keys import KeyFormatError, KnownHosts, PrivateKey

ED = PrivateKey.generate("ed25519").publicKey()
ED2 = PrivateKey.generate("ed25519").publicKey()
P256 = PrivateKey.generate("ecdsa", 256).publicKey()
P384 = PrivateKey.generate("ecdsa", 384).publicKey()


def _line(hosts: str, key: object = ED, marker: str = "") -> str:
    assert hasattr(key, "toOpenSSH")
    return f"{marker}{hosts} {key.toOpenSSH().decode()}\n"


def test_plain_match_and_unknown() -> None:
    """A listed host with its key matches; another host is unknown."""
    kh = KnownHosts.parse(_line("example.com,192.0.2.1"))
    assert kh.verify("example.com", 22, ED) == "match"
    assert kh.verify("EXAMPLE.COM", 22, ED) == "match"
    assert kh.verify("192.0.2.1", 22, ED) == "match"
    assert kh.verify("other.com", 22, ED) == "unknown"


def test_changed_key_is_mismatch() -> None:
    """A known host presenting another key of the same kind is a mismatch."""
    kh = KnownHosts.parse(_line("example.com"))
    assert kh.verify("example.com", 22, ED2) == "mismatch"


def test_other_kind_of_key_is_unknown() -> None:
    """A key of a kind not known for the host is unknown (as ssh treats it)."""
    kh = KnownHosts.parse(_line("example.com"))
    assert kh.verify("example.com", 22, P256) == "unknown"


def test_ecdsa_curves_are_one_kind() -> None:
    """A P-384 key for a host known by a P-256 key is a mismatch (one ECDSA kind)."""
    kh = KnownHosts.parse(_line("example.com", P256))
    assert kh.verify("example.com", 22, P384) == "mismatch"


def test_any_matching_line_wins() -> None:
    """With several lines for a host, any line holding the key is a match."""
    kh = KnownHosts.parse(_line("h", ED2) + _line("h", ED))
    assert kh.verify("h", 22, ED) == "match"
    assert kh.lookup("h") == [ED2, ED]


def test_ports() -> None:
    """Port 22 is the bare name; other ports need [host]:port."""
    kh = KnownHosts.parse(_line("[example.com]:2222") + _line("plain.com"))
    assert kh.verify("example.com", 2222, ED) == "match"
    assert kh.verify("example.com", 22, ED) == "unknown"
    assert kh.verify("plain.com", 2222, ED) == "unknown"


def test_wildcards_and_negation() -> None:
    """Wildcards match; a negated pattern keeps a line from matching that host."""
    kh = KnownHosts.parse(_line("*.example.com,!evil.example.com"))
    assert kh.verify("a.example.com", 22, ED) == "match"
    assert kh.verify("evil.example.com", 22, ED) == "unknown"
    kh = KnownHosts.parse(_line("[*.lan]:*"))
    assert kh.verify("box.lan", 2200, ED) == "match"


def test_hashed_entry() -> None:
    """A |1|salt|hash entry matches the name whose HMAC-SHA1 it holds."""
    salt = bytes(range(20))
    mac = hmac.digest(salt, b"[host.example]:2022", hashlib.sha1)
    hosts = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(mac).decode()}"
    kh = KnownHosts.parse(_line(hosts))
    assert kh.verify("host.example", 2022, ED) == "match"
    assert kh.verify("host.example", 22, ED) == "unknown"
    assert kh.verify("host.example", 2022, ED2) == "mismatch"


def test_revoked() -> None:
    """An @revoked key for the host is revoked, even if another line lists it."""
    kh = KnownHosts.parse(_line("h", ED) + _line("*", ED, "@revoked "))
    assert kh.verify("h", 22, ED) == "revoked"
    assert kh.verify("h", 22, ED2) == "mismatch"
    assert kh.lookup("h") == [ED]


def test_cert_authority_ignored_and_reported() -> None:
    """@cert-authority lines never match; they are listed in certAuthorities."""
    kh = KnownHosts.parse(_line("*.example.com", ED, "@cert-authority "))
    assert kh.verify("a.example.com", 22, ED) == "unknown"
    assert [e.key for e in kh.certAuthorities] == [ED]


@pytest.mark.parametrize("hashed", [False, True])
@pytest.mark.parametrize("port", [22, 2222])
def test_line_round_trip(hashed: bool, port: int) -> None:
    """line() writes an entry that parse/verify match (hashed or not)."""
    line = KnownHosts.line("Host.Example", port, ED, hashed=hashed)
    assert line.startswith(b"|1|") == hashed
    assert not line.endswith(b"\n")
    kh = KnownHosts.parse(line)
    assert kh.verify("host.example", port, ED) == "match"
    assert kh.verify("host.example", port + 1, ED) == "unknown"


def test_line_plain_format() -> None:
    """The unhashed line is 'name type base64'; [host]:port off port 22."""
    assert KnownHosts.line("h", 22, ED) == b"h " + ED.toOpenSSH()
    assert KnownHosts.line("::1", 2222, ED, comment="c") == b"[::1]:2222 " + ED.toOpenSSH("c")


def test_line_refuses_patterns() -> None:
    """A host name with pattern or separator characters cannot be written."""
    with pytest.raises(ValueError):
        KnownHosts.line("a,b", 22, ED)
    with pytest.raises(ValueError):
        KnownHosts.line("*", 22, ED)


def test_add() -> None:
    """add() remembers the key and returns its line."""
    kh = KnownHosts.parse("")
    line = kh.add("new.host", 22, ED, hashed=True)
    assert kh.verify("new.host", 22, ED) == "match" and line.startswith(b"|1|")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("@bogus h " + ED.toOpenSSH().decode(), "unknown marker"),
        ("hostonly", "hosts keytype"),
        ("|2|abc|def " + ED.toOpenSSH().decode(), "unsupported hashed"),
        ("|1|!!|!! " + ED.toOpenSSH().decode(), "base64"),
        ("|1|AAAA|AAAA " + ED.toOpenSSH().decode(), "20 bytes"),
        ("a,,b " + ED.toOpenSSH().decode(), "empty host pattern"),
        ("h ssh-ed25519 AAAA", "malformed"),
        ("h " + "x" * 40000, "too long"),
    ],
)
def test_bad_lines(line: str, message: str) -> None:
    """Bad lines raise in strict mode and are skipped with a reason otherwise."""
    with pytest.raises(KeyFormatError, match=message):
        KnownHosts.parse(line, strict=True)
    kh = KnownHosts.parse(line + "\n" + _line("ok"))
    assert kh.errors and kh.errors[0][0] == 1 and message in kh.errors[0][1]
    assert kh.verify("ok", 22, ED) == "match"


def test_comments_and_blank_lines() -> None:
    """Comment and blank lines are ignored; the key's comment is kept."""
    kh = KnownHosts.parse(b"# c\n\n" + ED.toOpenSSH().join([b"h ", b" a comment\n"]))
    assert len(kh.entries) == 1 and kh.entries[0].comment == "a comment"
    assert kh.entries[0].lineNumber == 3


def test_tabs_and_marker_spacing() -> None:
    """Fields may be separated by tabs and runs of blanks, markers included."""
    key = ED.toOpenSSH().decode().replace(" ", "\t")
    kh = KnownHosts.parse(f"h1\t{key}\n@revoked\t  h2  {key}\n", strict=True)
    assert kh.verify("h1", 22, ED) == "match" and kh.verify("h2", 22, ED) == "revoked"


def test_marker_without_entry() -> None:
    """A marker alone on a line is a bad line."""
    with pytest.raises(KeyFormatError, match="hosts keytype"):
        KnownHosts.parse("@revoked", strict=True)


def test_non_ascii_hashed_host_is_a_bad_line() -> None:
    """A hashed host with non-ASCII where base64 goes is a skipped bad line (strict: a
    KeyFormatError), not a ValueError out of the parser."""
    key = PrivateKey.generate("ed25519").publicKey()
    line = "|1|ab\u00e9c|de\u00e9f " + key.toOpenSSH().decode()
    known = KnownHosts.parse(line + "\n" + KnownHosts.line("h", 22, key).decode())
    assert [n for n, _ in known.errors] == [1]
    assert known.verify("h", 22, key) == "match"
    with pytest.raises(KeyFormatError, match="base64"):
        KnownHosts.parse(line.encode(), strict=True)
