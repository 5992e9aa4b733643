"""Endpoint description strings: ``serverFromString`` and ``clientFromString``.

A description is ``kind:arg:arg...``; each argument is positional or ``key=value``, and a
backslash escapes the next character (``\\:`` is a colon inside a value, ``\\=`` an equals sign,
``\\\\`` a backslash). Positional arguments are the kind's options in order (``tcp:8080`` is
the port); an option may not be given both ways.

Kinds come from, in order: parsers registered with ``registerServerParser`` /
``registerClientParser``, the built-in ``tcp``, ``tcp6`` and ``unix``, and installed plugins
(entry points in the groups ``plait.endpoints.server`` / ``plait.endpoints.client``, named by
kind). A parser is a callable ``parser(reactor, *args, **kwargs)`` returning the endpoint (or an
object with a ``parseStreamServer`` / ``parseStreamClient`` method of that shape); the strings it
gets are unescaped. A bad description is a ``ValueError`` that names it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from ._hostname import HostnameEndpoint
from ._interfaces import IStreamClientEndpoint, IStreamServerEndpoint
from ._stream import (
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
)

__all__ = [
    "ClientParser",
    "ServerParser",
    "clientFromString",
    "registerClientParser",
    "registerServerParser",
    "serverFromString",
]

ServerParser = Callable[..., IStreamServerEndpoint]
"""``parser(reactor, *args: str, **kwargs: str) -> IStreamServerEndpoint``."""

ClientParser = Callable[..., IStreamClientEndpoint]
"""``parser(reactor, *args: str, **kwargs: str) -> IStreamClientEndpoint``."""

SERVER_GROUP = "plait.endpoints.server"
CLIENT_GROUP = "plait.endpoints.client"

# Parsers registered at run time (these win over built-ins and plugins) and loaded plugins.
_serverParsers: dict[str, ServerParser] = {}
_clientParsers: dict[str, ClientParser] = {}


def _split(description: str) -> tuple[str, list[str], dict[str, str]]:
    """``(kind, positional args, keyword args)`` of a description, escapes resolved."""
    segments: list[tuple[str | None, str]] = []
    key: str | None = None
    current: list[str] = []
    chars = iter(description)
    for ch in chars:
        if ch == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise ValueError(f"endpoint description {description!r} ends with a backslash")
            current.append(escaped)
        elif ch == ":":
            segments.append((key, "".join(current)))
            key, current = None, []
        elif ch == "=" and key is None:
            key, current = "".join(current), []
        else:
            current.append(ch)
    segments.append((key, "".join(current)))

    (kindKey, kind), rest = segments[0], segments[1:]
    if kindKey is not None or not kind:
        raise ValueError(
            f"endpoint description {description!r} does not start with a kind (like 'tcp:')"
        )
    if kind.isdigit() and not rest:
        raise ValueError(f"endpoint description {description!r} has no kind; try 'tcp:{kind}'")
    args: list[str] = []
    kwargs: dict[str, str] = {}
    for k, value in rest:
        if k is None:
            args.append(value)
        elif k in kwargs:
            raise ValueError(f"endpoint description {description!r} repeats {k!r}")
        else:
            kwargs[k] = value
    return kind, args, kwargs


def _bind(
    kind: str,
    names: tuple[str, ...],
    required: tuple[str, ...],
    args: tuple[str, ...],
    kwargs: dict[str, str],
) -> dict[str, str]:
    """Match arguments to option ``names``: positionals in order, then keywords by name."""
    unknown = sorted(set(kwargs) - set(names))
    if unknown:
        raise ValueError(f"{kind}: unknown option {unknown[0]!r} (options: {', '.join(names)})")
    if len(args) > len(names):
        raise ValueError(f"{kind}: too many arguments (options: {', '.join(names)})")
    bound = dict(zip(names, args, strict=False))
    twice = [k for k in kwargs if k in bound]
    if twice:
        raise ValueError(f"{kind}: {twice[0]} given twice (by position and by name)")
    bound.update(kwargs)
    missing = [n for n in required if n not in bound]
    if missing:
        raise ValueError(f"{kind}: missing {missing[0]}")
    return bound


def _int(kind: str, name: str, value: str, base: int = 10) -> int:
    try:
        return int(value, base)
    except ValueError:
        what = "an octal number" if base == 8 else "an integer"
        raise ValueError(f"{kind}: {name} must be {what}, not {value!r}") from None


def _float(kind: str, name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{kind}: {name} must be a number, not {value!r}") from None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(kind: str, name: str, value: str) -> int:
    if value.lower() in _TRUE:
        return 1
    if value.lower() in _FALSE:
        return 0
    raise ValueError(f"{kind}: {name} must be 0 or 1, not {value!r}")


# -- built-in server kinds --------------------------------------------------------------------


def _tcpServer(reactor: Any, *args: str, **kwargs: str) -> TCP4ServerEndpoint:
    """``tcp:port[:interface=...][:backlog=50]``."""
    o = _bind("tcp", ("port", "interface", "backlog"), ("port",), args, kwargs)
    return TCP4ServerEndpoint(
        reactor,
        _int("tcp", "port", o["port"]),
        backlog=_int("tcp", "backlog", o.get("backlog", "50")),
        interface=o.get("interface", ""),
    )


def _tcp6Server(reactor: Any, *args: str, **kwargs: str) -> TCP6ServerEndpoint:
    """``tcp6:port[:interface=\\:\\:1][:backlog=50]``."""
    o = _bind("tcp6", ("port", "interface", "backlog"), ("port",), args, kwargs)
    return TCP6ServerEndpoint(
        reactor,
        _int("tcp6", "port", o["port"]),
        backlog=_int("tcp6", "backlog", o.get("backlog", "50")),
        interface=o.get("interface", "::"),
    )


def _unixServer(reactor: Any, *args: str, **kwargs: str) -> UNIXServerEndpoint:
    """``unix:address[:mode=666][:backlog=50][:lockfile=1]`` (mode in octal)."""
    o = _bind("unix", ("address", "mode", "backlog", "lockfile"), ("address",), args, kwargs)
    return UNIXServerEndpoint(
        reactor,
        o["address"],
        backlog=_int("unix", "backlog", o.get("backlog", "50")),
        mode=_int("unix", "mode", o.get("mode", "666"), 8),
        wantPID=_flag("unix", "lockfile", o.get("lockfile", "1")),
    )


# -- built-in client kinds --------------------------------------------------------------------


def _tcpOptions(kind: str, args: tuple[str, ...], kwargs: dict[str, str]) -> dict[str, Any]:
    if len(args) == 1 and "host" in kwargs and "port" not in kwargs:
        # "tcp:host=example.com:80": the one positional is the port.
        kwargs["port"], args = args[0], ()
    o = _bind(kind, ("host", "port", "timeout", "bindAddress"), ("host", "port"), args, kwargs)
    bindAddress = o.get("bindAddress")
    return {
        "host": o["host"],
        "port": _int(kind, "port", o["port"]),
        "timeout": _float(kind, "timeout", o.get("timeout", "30")),
        "bindAddress": None if bindAddress is None else (bindAddress, 0),
    }


def _tcpClient(reactor: Any, *args: str, **kwargs: str) -> TCP4ClientEndpoint:
    """``tcp:host:port[:timeout=30][:bindAddress=ip]``."""
    return TCP4ClientEndpoint(reactor, **_tcpOptions("tcp", args, kwargs))


def _tcp6Client(reactor: Any, *args: str, **kwargs: str) -> TCP6ClientEndpoint:
    """``tcp6:host=\\:\\:1:port=80[:timeout=30][:bindAddress=ip]``."""
    return TCP6ClientEndpoint(reactor, **_tcpOptions("tcp6", args, kwargs))


def _hostnameClient(reactor: Any, *args: str, **kwargs: str) -> HostnameEndpoint:
    """``hostname:host:port[:timeout=30][:bindAddress=ip][:attemptDelay=0.3]``."""
    delay = kwargs.pop("attemptDelay", "0.3")
    options = _tcpOptions("hostname", args, kwargs)
    return HostnameEndpoint(
        reactor, attemptDelay=_float("hostname", "attemptDelay", delay), **options
    )


def _unixClient(reactor: Any, *args: str, **kwargs: str) -> UNIXClientEndpoint:
    """``unix:path[:timeout=30][:lockfile=0]`` (``checkPID`` is another name for lockfile)."""
    if "checkPID" in kwargs:
        if "lockfile" in kwargs:
            raise ValueError("unix: give lockfile or checkPID, not both")
        kwargs["lockfile"] = kwargs.pop("checkPID")
    o = _bind("unix", ("path", "timeout", "lockfile"), ("path",), args, kwargs)
    return UNIXClientEndpoint(
        reactor,
        o["path"],
        timeout=_float("unix", "timeout", o.get("timeout", "30")),
        checkPID=_flag("unix", "lockfile", o.get("lockfile", "0")),
    )


_BUILTIN_SERVERS: dict[str, ServerParser] = {
    "tcp": _tcpServer,
    "tcp6": _tcp6Server,
    "unix": _unixServer,
}
_BUILTIN_CLIENTS: dict[str, ClientParser] = {
    "tcp": _tcpClient,
    "tcp6": _tcp6Client,
    "hostname": _hostnameClient,
    "unix": _unixClient,
}


# -- registry and lookup ----------------------------------------------------------------------


def registerServerParser(prefix: str, parser: ServerParser) -> None:
    """Make ``serverFromString`` hand ``prefix:...`` descriptions to ``parser``.

    A registered parser wins over a built-in kind or a plugin of the same prefix.
    """
    _checkPrefix(prefix)
    _serverParsers[prefix] = parser


def registerClientParser(prefix: str, parser: ClientParser) -> None:
    """Make ``clientFromString`` hand ``prefix:...`` descriptions to ``parser``."""
    _checkPrefix(prefix)
    _clientParsers[prefix] = parser


def _checkPrefix(prefix: str) -> None:
    if not prefix or any(c in prefix for c in ":=\\"):
        raise ValueError(f"endpoint kind must be a non-empty name without ':=\\', not {prefix!r}")


def _lookup(
    kind: str,
    description: str,
    registry: dict[str, Callable[..., Any]],
    builtins: dict[str, Callable[..., Any]],
    group: str,
    method: str,
) -> Callable[..., Any]:
    found = registry.get(kind) or builtins.get(kind)
    if found is not None:
        return found
    plugins = entry_points(group=group)
    for entry in plugins:
        if entry.name != kind:
            continue
        try:
            loaded = entry.load()
        except Exception as e:
            raise ValueError(
                f"endpoint kind {kind!r} (plugin {entry.value}) failed to load: {e}"
            ) from e
        parser: Callable[..., Any] = getattr(loaded, method, loaded)
        if not callable(parser):
            raise ValueError(f"endpoint plugin {entry.value} for {kind!r} is not a parser")
        registry[kind] = parser
        return parser
    known = sorted({*registry, *builtins, *(e.name for e in plugins)})
    raise ValueError(
        f"unknown endpoint kind {kind!r} in {description!r} (known: {', '.join(known)})"
    )


def _parse(
    reactor: Any,
    description: str,
    registry: dict[str, Callable[..., Any]],
    builtins: dict[str, Callable[..., Any]],
    group: str,
    method: str,
) -> Any:
    kind, args, kwargs = _split(description)
    parser = _lookup(kind, description, registry, builtins, group, method)
    try:
        return parser(reactor, *args, **kwargs)
    except ValueError as e:
        raise ValueError(f"bad endpoint description {description!r}: {e}") from e
    except TypeError as e:
        # A plugin parser given options it does not take.
        raise ValueError(f"bad endpoint description {description!r}: {e}") from e


def serverFromString(reactor: Any, description: str) -> IStreamServerEndpoint:
    """The server endpoint a description names: ``"tcp:8080:interface=127.0.0.1"``,
    ``"tcp6:8080:interface=\\:\\:1"``, ``"unix:/run/app.sock:mode=660"``...

    Raises ``ValueError`` for an unknown kind or bad arguments.
    """
    endpoint: IStreamServerEndpoint = _parse(
        reactor, description, _serverParsers, _BUILTIN_SERVERS, SERVER_GROUP, "parseStreamServer"
    )
    return endpoint


def clientFromString(reactor: Any, description: str) -> IStreamClientEndpoint:
    """The client endpoint a description names: ``"tcp:example.com:80"``,
    ``"tcp:host=example.com:port=80:timeout=5"``, ``"hostname:example.com:443"``,
    ``"unix:path=/run/app.sock"``...

    Raises ``ValueError`` for an unknown kind or bad arguments.
    """
    endpoint: IStreamClientEndpoint = _parse(
        reactor, description, _clientParsers, _BUILTIN_CLIENTS, CLIENT_GROUP, "parseStreamClient"
    )
    return endpoint
