"""authorized_keys lines and options, and OpenSSH pattern lists (plait.wire.ssh.keys)."""

from __future__ import annotations

import datetime

import pytest

from plait.wire.ssh.keys import (
    AuthorizedKeyOptions,
    KeyFormatError,
    PrivateKey,
    matchPatternList,
    parseAuthorizedKeys,
)

KEY = PrivateKey.generate("ed25519").publicKey()
LINE = KEY.toOpenSSH("user@host").decode()
EC = PrivateKey.generate("ecdsa").publicKey()


def _options(opts: str) -> AuthorizedKeyOptions:
    [entry] = parseAuthorizedKeys(f"{opts} {LINE}\n", strict=True)
    assert entry.key == KEY
    return entry.options


def test_plain_lines_comments_and_blanks() -> None:
    """Keys without options; comments and blank lines are skipped; comments kept per key."""
    data = f"# my keys\n\n{LINE}\n  {EC.toOpenSSH().decode()}  \n"
    entries = parseAuthorizedKeys(data.encode())
    assert [e.key for e in entries] == [KEY, EC]
    assert entries[0].comment == "user@host" and entries[0].lineNumber == 3
    assert entries[0].options == AuthorizedKeyOptions()
    assert entries[1].options.allowsFrom("203.0.113.9")


def test_command_with_escaped_quotes() -> None:
    """command="..." keeps commas and spaces; \\" is a quote, other backslashes stay."""
    opts = _options(r'command="echo \"a, b\" \\n; ls",no-pty')
    assert opts.command == r'echo "a, b" \\n; ls'
    assert opts.noPty and not opts.noPortForwarding


def test_restrict_and_reenables() -> None:
    """restrict disables everything; a later pty or port-forwarding re-enables just that."""
    opts = _options("restrict")
    assert opts.restrict and opts.noPty and opts.noPortForwarding and opts.noX11Forwarding
    assert opts.noAgentForwarding and opts.noUserRC
    opts = _options("restrict,pty,port-forwarding")
    assert opts.restrict and not opts.noPty and not opts.noPortForwarding
    assert opts.noX11Forwarding and opts.noAgentForwarding and opts.noUserRC


def test_each_no_flag() -> None:
    """Each no-* option sets its flag (names are case-insensitive)."""
    opts = _options("no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-user-rc")
    assert opts.noPortForwarding and opts.noX11Forwarding and opts.noAgentForwarding
    assert opts.noUserRC and not opts.noPty and not opts.restrict
    assert _options("NO-PTY").noPty


def test_environment_permitopen_principals_tunnel() -> None:
    """Valued options: environment (first wins), permitopen, permitlisten, principals, tunnel."""
    opts = _options(
        'environment="A=1",environment="B=x=y",environment="A=2",permitopen="db:5432",'
        'permitopen="[::1]:*",permitlisten="8080",principals="alice,bob",tunnel="3"'
    )
    assert opts.environment == {"A": "1", "B": "x=y"}
    assert opts.permitOpen == ("db:5432", "[::1]:*")
    assert opts.permitListen == ("8080",)
    assert opts.principals == ("alice", "bob") and opts.tunnel == 3


def test_allows_open() -> None:
    """permitopen allows only its host:port pairs; * matches any port; none means any."""
    opts = _options('permitopen="db:5432",permitopen="[::1]:*"')
    assert opts.allowsOpen("db", 5432) and opts.allowsOpen("DB", 5432)
    assert not opts.allowsOpen("db", 5433) and not opts.allowsOpen("web", 5432)
    assert opts.allowsOpen("::1", 22)
    assert _options("pty").allowsOpen("anything", 1)
    assert not _options('no-port-forwarding,permitopen="db:1"').allowsOpen("db", 1)


def test_allows_listen() -> None:
    """permitlisten: a bare port is localhost; * host or port matches anything."""
    opts = _options('permitlisten="8080",permitlisten="*:9000"')
    assert opts.allowsListen("localhost", 8080) and not opts.allowsListen("0.0.0.0", 8080)
    assert opts.allowsListen("0.0.0.0", 9000) and not opts.allowsListen("localhost", 1)
    assert not _options("restrict").allowsListen("localhost", 8080)


def test_expiry_time() -> None:
    """expiry-time: UTC with Z, local without; the earliest of several wins."""
    opts = _options('expiry-time="20300101Z"')
    utc = datetime.UTC
    assert opts.expiryTime == datetime.datetime(2030, 1, 1, tzinfo=utc)
    assert not opts.isExpired(datetime.datetime(2029, 12, 31, 23, 59, tzinfo=utc))
    assert opts.isExpired(datetime.datetime(2030, 1, 1, tzinfo=utc))
    local = _options('expiry-time="203001020304"')
    assert local.expiryTime == datetime.datetime(2030, 1, 2, 3, 4)
    assert local.isExpired(datetime.datetime(2030, 1, 2, 3, 4, 5))
    assert not local.isExpired(datetime.datetime(2030, 1, 2, 3, 3))
    both = _options('expiry-time="20400101",expiry-time="20300101000000"')
    assert both.expiryTime == datetime.datetime(2030, 1, 1)
    assert not _options("pty").isExpired(datetime.datetime(9999, 1, 1))


def test_expiry_mixed_awareness() -> None:
    """A naive (local) expiry compares with an aware now, and the reverse."""
    local = _options('expiry-time="20300101"')
    assert local.isExpired(datetime.datetime(2031, 1, 1, tzinfo=datetime.UTC))
    assert not local.isExpired(datetime.datetime(2029, 1, 1, tzinfo=datetime.UTC))
    utc = _options('expiry-time="20300101Z"')
    assert utc.isExpired(datetime.datetime(2031, 1, 1))


@pytest.mark.parametrize(
    ("patterns", "address", "hostname", "allowed"),
    [
        ("10.0.0.0/8", "10.1.2.3", None, True),
        ("10.0.0.0/8", "11.1.2.3", None, False),
        ("10.0.0.0/8,!10.9.0.0/16", "10.9.1.1", None, False),
        ("!10.9.0.0/16,10.0.0.0/8", "10.9.1.1", None, False),
        ("192.168.1.?", "192.168.1.7", None, True),
        ("192.168.1.?", "192.168.1.17", None, False),
        ("192.168.*", "192.168.77.1", None, True),
        ("*.example.com", "198.51.100.1", "ssh.EXAMPLE.com", True),
        ("*.example.com", "198.51.100.1", None, False),
        ("*.example.com,!bad.example.com", "198.51.100.1", "bad.example.com", False),
        ("*,!198.51.100.1", "198.51.100.1", None, False),
        ("*,!198.51.100.1", "198.51.100.2", None, True),
        ("2001:db8::/32", "2001:db8::5", None, True),
        ("2001:db8::/32", "10.0.0.1", None, False),
        ("10.0.0.0/8", "::ffff:10.0.0.1", None, True),
        ("127.0.0.1", "127.0.0.1", None, True),
        ("fe80::/10", "fe80::1%eth0", None, True),
    ],
)
def test_from_patterns(patterns: str, address: str, hostname: str | None, allowed: bool) -> None:
    """from="..." allows by address (CIDR, wildcards) or host name; negation refuses."""
    opts = _options(f'from="{patterns}"')
    assert opts.allowsFrom(address, hostname) is allowed


def test_cert_authority_flag() -> None:
    """cert-authority is recorded (the checker must not accept such a key directly)."""
    assert _options("cert-authority").certAuthority


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("no-pty,bogus " + LINE, "unknown option 'bogus'"),
        ('command=echo "x" ' + LINE, "double-quoted"),
        ('command="unterminated ' + LINE, "missing end quote"),
        ("command " + LINE, "needs a value"),
        ('no-pty="x" ' + LINE, "takes no value"),
        ('restrict="x" ' + LINE, "takes no value"),
        ('command="a",command="b" ' + LINE, "twice"),
        ('from="a",from="b" ' + LINE, "twice"),
        ('principals="a",principals="b" ' + LINE, "twice"),
        ('from="a,,b" ' + LINE, "empty pattern"),
        ('environment="NOEQUALS" ' + LINE, "NAME=value"),
        ('environment="BAD-NAME=1" ' + LINE, "NAME=value"),
        ('permitopen="nohost" ' + LINE, "host:port"),
        ('permitopen="h:99999" ' + LINE, "host:port"),
        ('expiry-time="2030" ' + LINE, "YYYYMMDD"),
        ('expiry-time="20301341" ' + LINE, "expiry-time"),
        ('tunnel="x" ' + LINE, "tunnel"),
        ("no-pty;x " + LINE, "bad character"),
        (",no-pty " + LINE, "bad option"),
        ("ssh-dss AAAAB3NzaC1kc3MAAAA=", "unsupported key type"),
        ("no-pty", "type base64"),
        ("ssh-ed25519 AAAA" + "A" * 40000, "too long"),
    ],
)
def test_bad_lines(line: str, message: str) -> None:
    """Bad lines raise KeyFormatError (strict) naming the line and the problem."""
    with pytest.raises(KeyFormatError, match="line 1: .*" + message):
        parseAuthorizedKeys(line, strict=True)


def test_bad_lines_skipped_and_reported() -> None:
    """Leniently, bad lines are skipped and reported; good ones still load."""
    errors: list[tuple[int, str]] = []
    entries = parseAuthorizedKeys(f"bogus-option {LINE}\n{LINE}\n\xff\n", errors=errors)
    assert [e.lineNumber for e in entries] == [2]
    assert [n for n, _ in errors] == [1, 3]
    assert "unknown option" in errors[0][1]


def test_non_utf8_bytes() -> None:
    """Undecodable bytes in a file make that line bad, not the whole file."""
    errors: list[tuple[int, str]] = []
    entries = parseAuthorizedKeys(b"\xff\xfe junk\n" + LINE.encode() + b"\n", errors=errors)
    assert len(entries) == 1 and len(errors) == 1


@pytest.mark.parametrize(
    ("name", "patterns", "result"),
    [
        ("host.example.com", "*.example.com", True),
        ("HOST.example.com", "host.*", True),
        ("example.com", "*.example.com", None),
        ("a.example.com", "*.example.com,!a.example.com", False),
        ("b", "?", True),
        ("bb", "?", None),
        ("x.y", "x?y", True),
        ("[h]:2222", "[h]:2222", True),
        ("[h]:2222", "[h]:*", True),
        ("a+b", "a+b", True),
    ],
)
def test_match_pattern_list(name: str, patterns: str, result: bool | None) -> None:
    """Pattern lists: wildcards, any case, negation beats a match, None for no match."""
    assert matchPatternList(name, patterns) is result
