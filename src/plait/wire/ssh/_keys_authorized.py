"""``authorized_keys`` lines and their options, and OpenSSH's host pattern lists.

A line is ``[options] keytype base64 [comment]`` (sshd(8) "AUTHORIZED_KEYS FILE FORMAT");
options are comma-separated, values in double quotes with ``\\"`` for a quote inside.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import ipaddress
import re
from dataclasses import dataclass, field

from plait.wire.ssh._keys import KEY_TYPES, KeyFormatError, PublicKey
from plait.wire.ssh._keys_cert import Certificate, CertificateError
from plait.wire.ssh._keys_files import parsePublicKeyLine

# An authorized_keys line longer than this is not one (OpenSSH reads lines of up to 8 KiB
# for RSA keys; 16384-bit keys need more).
MAX_LINE = 32768
MAX_LINES = 100_000


@functools.lru_cache(maxsize=256)
def _patternRegex(pattern: str) -> re.Pattern[str]:
    parts = ["." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def matchPattern(name: str, pattern: str) -> bool:
    """Whether ``name`` matches an OpenSSH wildcard ``pattern`` (``*``, ``?``; any case)."""
    return _patternRegex(pattern).fullmatch(name) is not None


def matchPatternList(name: str, patterns: str | list[str] | tuple[str, ...]) -> bool | None:
    """OpenSSH's pattern-list match: ``False`` when a negated (``!``) pattern matches, else
    ``True`` when a pattern matches, else ``None`` (no pattern matches)."""
    if isinstance(patterns, str):
        patterns = patterns.split(",")
    found: bool | None = None
    for pattern in patterns:
        negated = pattern.startswith("!")
        if matchPattern(name, pattern[1:] if negated else pattern):
            if negated:
                return False
            found = True
    return found


def _addressMatches(address: str, pattern: str) -> bool:
    """``pattern`` (an address, a CIDR block or a wildcard) against a literal address."""
    try:
        net = ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return matchPattern(address, pattern)
    try:
        addr = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.version == net.version and addr in net


def matchHostAndAddress(address: str, hostname: str | None, patterns: tuple[str, ...]) -> bool:
    """sshd's ``from=`` check: a negated match of the address or host name refuses; otherwise
    any match of either allows."""
    allowed = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern[1:] if negated else pattern
        hit = _addressMatches(address, bare) or (
            hostname is not None and matchPattern(hostname, bare)
        )
        if hit and negated:
            return False
        allowed = allowed or hit
    return allowed


def _expiry(value: str) -> datetime.datetime:
    utc = value.endswith(("Z", "z"))
    digits = value[:-1] if utc else value
    formats = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    if not digits.isdigit() or len(digits) not in formats:
        raise KeyFormatError(f"bad expiry-time {value!r} (YYYYMMDD[HHMM[SS]][Z])")
    try:
        when = datetime.datetime.strptime(digits, formats[len(digits)])
    except ValueError:
        raise KeyFormatError(f"bad expiry-time {value!r}") from None
    return when.replace(tzinfo=datetime.UTC) if utc else when


def _hostPort(value: str, what: str, portOptional: bool = False) -> tuple[str, str]:
    """Split ``host:port`` / ``[v6]:port`` (``port`` alone when ``portOptional``)."""
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
    else:
        host, sep, port = value.rpartition(":")
    if not sep:
        if portOptional and value:
            host, port = "localhost", value
        else:
            raise KeyFormatError(f"bad {what} {value!r} (host:port)")
    if not host or not (port == "*" or (port.isdigit() and 0 < int(port) < 65536)):
        raise KeyFormatError(f"bad {what} {value!r} (host:port)")
    return host, port


@dataclass(slots=True)
class AuthorizedKeyOptions:
    """The options on an ``authorized_keys`` line, as sshd applies them.

    The ``no*`` flags are the effective restrictions: ``restrict`` sets them all and a later
    ``pty``/``port-forwarding``/``agent-forwarding``/``X11-forwarding``/``user-rc`` lifts one.
    """

    command: str | None = None
    fromPatterns: tuple[str, ...] | None = None
    noPty: bool = False
    noPortForwarding: bool = False
    noX11Forwarding: bool = False
    noAgentForwarding: bool = False
    noUserRC: bool = False
    restrict: bool = False
    permitOpen: tuple[str, ...] = ()
    permitListen: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    principals: tuple[str, ...] | None = None
    expiryTime: datetime.datetime | None = None
    tunnel: int | None = None
    certAuthority: bool = False
    noTouchRequired: bool = False
    verifyRequired: bool = False

    def allowsFrom(self, address: str, hostname: str | None = None) -> bool:
        """Whether a client at ``address`` (whose name is ``hostname``, if known and trusted)
        passes ``from=``; always true without ``from=``."""
        if self.fromPatterns is None:
            return True
        return matchHostAndAddress(address, hostname, self.fromPatterns)

    def isExpired(self, now: datetime.datetime) -> bool:
        """Whether ``expiry-time`` has passed at ``now`` (no ``Z``: local time, as sshd reads
        it; give ``now`` aware or naive local)."""
        if self.expiryTime is None:
            return False
        expiry = self.expiryTime
        if (expiry.tzinfo is None) != (now.tzinfo is None):
            if now.tzinfo is None:
                now = now.astimezone()  # naive local -> aware
            else:
                expiry = expiry.astimezone()
        return now >= expiry

    def allowsOpen(self, host: str, port: int) -> bool:
        """Whether a ``direct-tcpip`` to ``host:port`` is allowed (``no-port-forwarding``,
        then ``permitopen=``: literal host names, ``*`` for any port)."""
        if self.noPortForwarding:
            return False
        return not self.permitOpen or any(_permits(rule, host, port) for rule in self.permitOpen)

    def allowsListen(self, host: str, port: int) -> bool:
        """Whether a ``tcpip-forward`` on ``host:port`` is allowed (``permitlisten=``; a rule
        without a host means localhost, ``*`` matches any host or port)."""
        if self.noPortForwarding:
            return False
        return not self.permitListen or any(
            _permits(rule, host, port, portOptional=True) for rule in self.permitListen
        )


def _permits(rule: str, host: str, port: int, portOptional: bool = False) -> bool:
    ruleHost, rulePort = _hostPort(rule, "rule", portOptional)
    hostOK = ruleHost == "*" or ruleHost.lower() == host.lower().strip("[]")
    return hostOK and (rulePort == "*" or int(rulePort) == port)


@dataclass(slots=True)
class AuthorizedKey:
    """One ``authorized_keys`` entry: ``key`` may log in, under ``options``.

    A ``cert-authority`` entry's key is a CA: it never logs in itself; use
    ``certificateOptions`` for certificates it signed.
    """

    key: PublicKey
    options: AuthorizedKeyOptions
    comment: str = ""
    lineNumber: int = 0

    def certificateOptions(
        self, cert: Certificate, username: str, now: int, address: str | None = None
    ) -> AuthorizedKeyOptions:
        """The options a user certificate logs ``username`` in with through this
        ``cert-authority`` line, at ``now`` (seconds since the epoch) from ``address``; raises
        ``CertificateError`` saying why not.

        As sshd: the line's ``principals=`` (else the user name) must be among the
        certificate's principals; its ``source-address`` must allow ``address``; forced
        commands of line and certificate must agree; a permission needs both the line and a
        ``permit-*`` extension.
        """
        if not self.options.certAuthority or cert.signatureKey != self.key:
            raise CertificateError("certificate is not signed by this line's authority")
        if self.options.principals is None:
            cert.check(now, username)
        else:
            cert.check(now)
            if not set(self.options.principals) & set(cert.principals):
                raise CertificateError("no certificate principal is allowed by principals=")
        sources = cert.sourceAddresses
        if sources is not None and (
            address is None or not any(_addressMatches(address, net) for net in sources)
        ):
            raise CertificateError(f"certificate source-address refuses {address}")
        merged = dataclasses.replace(self.options, environment=dict(self.options.environment))
        forced = cert.forceCommand
        if forced is not None:
            if merged.command is not None and merged.command != forced:
                raise CertificateError("certificate and authorized_keys force other commands")
            merged.command = forced
        ext = cert.extensions
        merged.noPty |= "permit-pty" not in ext
        merged.noPortForwarding |= "permit-port-forwarding" not in ext
        merged.noX11Forwarding |= "permit-X11-forwarding" not in ext
        merged.noAgentForwarding |= "permit-agent-forwarding" not in ext
        merged.noUserRC |= "permit-user-rc" not in ext
        merged.noTouchRequired = merged.noTouchRequired and "no-touch-required" in ext
        merged.verifyRequired |= "verify-required" in cert.criticalOptions
        merged.certAuthority = False
        return merged


# option name -> (takes a value, effect)
_FLAGS = {
    "no-pty": ("noPty", True),
    "pty": ("noPty", False),
    "no-port-forwarding": ("noPortForwarding", True),
    "port-forwarding": ("noPortForwarding", False),
    "no-x11-forwarding": ("noX11Forwarding", True),
    "x11-forwarding": ("noX11Forwarding", False),
    "no-agent-forwarding": ("noAgentForwarding", True),
    "agent-forwarding": ("noAgentForwarding", False),
    "no-user-rc": ("noUserRC", True),
    "user-rc": ("noUserRC", False),
    "cert-authority": ("certAuthority", True),
    "no-touch-required": ("noTouchRequired", True),
    "verify-required": ("verifyRequired", True),
}
_VALUED = {
    "command",
    "from",
    "environment",
    "permitopen",
    "permitlisten",
    "principals",
    "expiry-time",
    "tunnel",
}


def splitOptions(text: str) -> tuple[list[tuple[str, str | None]], str]:
    """Split leading options off a line: ``([(name, value or None)], rest of the line)``.

    Values are double-quoted; ``\\"`` inside is a quote (other backslashes stay).
    """
    options: list[tuple[str, str | None]] = []
    i, n = 0, len(text)
    while True:
        start = i
        while i < n and (text[i].isalnum() or text[i] in "-_"):
            i += 1
        name = text[start:i]
        if not name:
            raise KeyFormatError(f"bad option at column {start + 1}")
        value: str | None = None
        if i < n and text[i] == "=":
            if i + 1 >= n or text[i + 1] != '"':
                raise KeyFormatError(f"option {name} needs a double-quoted value")
            i += 2
            out: list[str] = []
            while True:
                if i >= n:
                    raise KeyFormatError(f"option {name}: missing end quote")
                c = text[i]
                if c == "\\" and i + 1 < n and text[i + 1] == '"':
                    out.append('"')
                    i += 2
                elif c == '"':
                    i += 1
                    break
                else:
                    out.append(c)
                    i += 1
            value = "".join(out)
        options.append((name, value))
        if i < n and text[i] == ",":
            i += 1
            continue
        if i < n and text[i] not in " \t":
            raise KeyFormatError(f"bad character {text[i]!r} after option {name}")
        return options, text[i:].strip()


def parseOptions(options: list[tuple[str, str | None]]) -> AuthorizedKeyOptions:
    """Apply parsed options in order, as sshd does (``restrict`` then ``pty`` re-enables)."""
    result = AuthorizedKeyOptions()
    for rawName, value in options:
        name = rawName.lower()
        if name == "restrict":
            if value is not None:
                raise KeyFormatError("restrict takes no value")
            result.restrict = True
            result.noPty = result.noPortForwarding = result.noX11Forwarding = True
            result.noAgentForwarding = result.noUserRC = True
        elif name in _FLAGS:
            if value is not None:
                raise KeyFormatError(f"{rawName} takes no value")
            attr, setting = _FLAGS[name]
            setattr(result, attr, setting)
        elif name in _VALUED:
            if value is None:
                raise KeyFormatError(f'{rawName} needs a value ({rawName}="...")')
            _applyValued(result, name, value)
        else:
            raise KeyFormatError(f"unknown option {rawName!r}")
    return result


def _applyValued(result: AuthorizedKeyOptions, name: str, value: str) -> None:
    if name == "command":
        if result.command is not None:
            raise KeyFormatError("command given twice")
        result.command = value
    elif name == "from":
        if result.fromPatterns is not None:
            raise KeyFormatError("from given twice")
        patterns = tuple(p.strip() for p in value.split(","))
        if not all(p.strip("!") for p in patterns):
            raise KeyFormatError(f"empty pattern in from={value!r}")
        result.fromPatterns = patterns
    elif name == "environment":
        envName, sep, envValue = value.partition("=")
        if not sep or not envName or not all(c.isalnum() or c == "_" for c in envName):
            raise KeyFormatError(f"bad environment {value!r} (NAME=value)")
        result.environment.setdefault(envName, envValue)  # the first one wins, as in sshd
    elif name == "permitopen":
        _hostPort(value, "permitopen")
        result.permitOpen += (value,)
    elif name == "permitlisten":
        _hostPort(value, "permitlisten", portOptional=True)
        result.permitListen += (value,)
    elif name == "principals":
        if result.principals is not None:
            raise KeyFormatError("principals given twice")
        result.principals = tuple(p for p in value.split(",") if p)
    elif name == "expiry-time":
        when = _expiry(value)
        if result.expiryTime is None or _earlier(when, result.expiryTime):
            result.expiryTime = when
    elif name == "tunnel":
        if not value.isdigit():
            raise KeyFormatError(f"bad tunnel {value!r}")
        result.tunnel = int(value)


def _earlier(a: datetime.datetime, b: datetime.datetime) -> bool:
    if (a.tzinfo is None) != (b.tzinfo is None):
        a, b = a.astimezone(), b.astimezone()
    return a < b


def parseAuthorizedKeyLine(line: str | bytes, lineNumber: int = 0) -> AuthorizedKey | None:
    """One ``authorized_keys`` line (``None`` for blank and comment lines)."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise KeyFormatError("authorized_keys line is not UTF-8") from None
    if len(line) > MAX_LINE:
        raise KeyFormatError(f"authorized_keys line too long ({len(line)} characters)")
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    words = text.split(None, 2)
    first = words[0]
    bare = not any(c in first for c in '=,"')
    if bare and (first in KEY_TYPES or (len(words) > 1 and words[1].startswith("AAAA"))):
        # no options (a key type we do not know is reported by the key line's parser)
        options, rest = AuthorizedKeyOptions(), text
    else:
        raw, rest = splitOptions(text)
        options = parseOptions(raw)
    key = parsePublicKeyLine(rest.encode("utf-8"))
    return AuthorizedKey(key, options, key.comment, lineNumber)


def parseAuthorizedKeys(
    data: str | bytes, strict: bool = False, errors: list[tuple[int, str]] | None = None
) -> list[AuthorizedKey]:
    """Every entry of an ``authorized_keys`` file.

    A bad line is skipped, as sshd skips it (recorded as ``(line number, message)`` in
    ``errors`` when given), or raises ``KeyFormatError`` naming the line when ``strict``.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    lines = data.splitlines()
    if len(lines) > MAX_LINES:
        raise KeyFormatError(f"authorized_keys has too many lines ({len(lines)})")
    result = []
    for number, line in enumerate(lines, 1):
        try:
            entry = parseAuthorizedKeyLine(line, number)
        except KeyFormatError as e:
            if strict:
                raise KeyFormatError(f"line {number}: {e}") from None
            if errors is not None:
                errors.append((number, str(e)))
            continue
        if entry is not None:
            result.append(entry)
    return result
