"""``serverFromString`` / ``clientFromString``: the description table, escapes and errors."""

from __future__ import annotations

from typing import Any

import pytest

from plait.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
    clientFromString,
    serverFromString,
)
from plait.protocol import Factory
from plait.testing import MemoryReactor

SERVERS: list[tuple[str, str, tuple[Any, ...]]] = [
    ("tcp:8080", "tcpServers", (8080, 50, "")),
    ("tcp:8080:interface=127.0.0.1", "tcpServers", (8080, 50, "127.0.0.1")),
    ("tcp:port=8080:backlog=10", "tcpServers", (8080, 10, "")),
    ("tcp:backlog=9:8080", "tcpServers", (8080, 9, "")),
    ("tcp:0:127.0.0.1:7", "tcpServers", (0, 7, "127.0.0.1")),
    ("tcp6:8080", "tcpServers", (8080, 50, "::")),
    ("tcp6:8080:interface=\\:\\:1", "tcpServers", (8080, 50, "::1")),
    ("tcp6:port=443:interface=fe80\\:\\:1%eth0:backlog=5", "tcpServers", (443, 5, "fe80::1%eth0")),
    ("unix:/var/run/app.sock", "unixServers", ("/var/run/app.sock", 50, 0o666, 1)),
    ("unix:/tmp/s:mode=660", "unixServers", ("/tmp/s", 50, 0o660, 1)),
    ("unix:address=/tmp/s:lockfile=1", "unixServers", ("/tmp/s", 50, 0o666, 1)),
    ("unix:address=/tmp/s:lockfile=0:backlog=3", "unixServers", ("/tmp/s", 3, 0o666, 0)),
    ("unix:/tmp/a\\:b\\=c\\\\d", "unixServers", ("/tmp/a:b=c\\d", 50, 0o666, 1)),
    ("unix:/tmp/x\\=y", "unixServers", ("/tmp/x=y", 50, 0o666, 1)),
]


@pytest.mark.parametrize(("description", "kind", "expected"), SERVERS)
def test_server_description_listens_with_parsed_arguments(
    description: str, kind: str, expected: tuple[Any, ...]
) -> None:
    """Each server description listens on the reactor with exactly the arguments it spells."""
    reactor = MemoryReactor()
    factory = Factory()
    serverFromString(reactor, description).listen(factory)
    calls = getattr(reactor, kind)
    assert len(calls) == 1
    args = list(calls[0])
    assert args.pop(1) is factory
    assert tuple(args) == expected


def test_unescaped_equals_makes_a_key() -> None:
    """``unix:/tmp/x=y`` is the option '/tmp/x' (unknown); ``\\=`` keeps it in the value."""
    reactor = MemoryReactor()
    with pytest.raises(ValueError, match="unknown option '/tmp/x'"):
        serverFromString(reactor, "unix:/tmp/x=y").listen(Factory())


def test_server_kinds_build_the_right_classes() -> None:
    """tcp, tcp6 and unix descriptions give the matching endpoint classes."""
    reactor = MemoryReactor()
    assert type(serverFromString(reactor, "tcp:80")) is TCP4ServerEndpoint
    assert type(serverFromString(reactor, "tcp6:80")) is TCP6ServerEndpoint
    assert type(serverFromString(reactor, "unix:/s")) is UNIXServerEndpoint


CLIENTS: list[tuple[str, str, tuple[Any, ...]]] = [
    ("tcp:example.com:80", "tcpClients", ("example.com", 80, 30.0, None)),
    ("tcp:host=example.com:port=80:timeout=5", "tcpClients", ("example.com", 80, 5.0, None)),
    ("tcp:host=example.com:8080", "tcpClients", ("example.com", 8080, 30.0, None)),
    (
        "tcp:10.0.0.1:25:bindAddress=10.0.0.2:timeout=1.5",
        "tcpClients",
        ("10.0.0.1", 25, 1.5, ("10.0.0.2", 0)),
    ),
    ("tcp6:host=\\:\\:1:port=80", "tcpClients", ("::1", 80, 30.0, None)),
    ("unix:path=/x", "unixClients", ("/x", 30.0, 0)),
    ("unix:/x:timeout=2:lockfile=1", "unixClients", ("/x", 2.0, 1)),
    ("unix:/x:checkPID=1", "unixClients", ("/x", 30.0, 1)),
]


@pytest.mark.parametrize(("description", "kind", "expected"), CLIENTS)
def test_client_description_connects_with_parsed_arguments(
    description: str, kind: str, expected: tuple[Any, ...]
) -> None:
    """Each client description connects through the reactor with the arguments it spells."""
    reactor = MemoryReactor()
    clientFromString(reactor, description).connect(Factory())
    calls = getattr(reactor, kind)
    assert len(calls) == 1
    args = list(calls[0])
    del args[2 if kind == "tcpClients" else 1]  # the wrapping factory
    assert tuple(args) == expected


def test_client_kinds_build_the_right_classes() -> None:
    """tcp, tcp6, hostname and unix descriptions give the matching endpoint classes."""
    reactor = MemoryReactor()
    assert type(clientFromString(reactor, "tcp:h:1")) is TCP4ClientEndpoint
    assert type(clientFromString(reactor, "tcp6:\\:\\:1:1")) is TCP6ClientEndpoint
    assert type(clientFromString(reactor, "unix:/p")) is UNIXClientEndpoint
    endpoint = clientFromString(reactor, "hostname:example.com:443:attemptDelay=0.1")
    assert type(endpoint) is HostnameEndpoint
    assert endpoint._attemptDelay == 0.1  # type: ignore[attr-defined]


BAD: list[tuple[str, str]] = [
    ("", "does not start with a kind"),
    ("port=80", "does not start with a kind"),
    ("8080", "try 'tcp:8080'"),
    ("nosuchkind:1", "unknown endpoint kind 'nosuchkind'"),
    ("tcp", "missing port"),
    ("tcp:http", "port must be an integer, not 'http'"),
    ("tcp:80:backlog=lots", "backlog must be an integer"),
    ("tcp:80:colour=red", "unknown option 'colour'"),
    ("tcp:80:port=81", "port given twice"),
    ("tcp:80:interface=a:interface=b", "repeats 'interface'"),
    ("tcp:80:127.0.0.1:5:extra", "too many arguments"),
    ("unix:/s:mode=999", "mode must be an octal number"),
    ("unix:/s:lockfile=maybe", "lockfile must be 0 or 1"),
    ("tcp:80\\", "ends with a backslash"),
]


@pytest.mark.parametrize(("description", "message"), BAD)
def test_bad_server_descriptions_raise_value_error(description: str, message: str) -> None:
    """Malformed server descriptions raise a ValueError that says what is wrong."""
    with pytest.raises(ValueError, match=message.replace("(", "\\(").replace(")", "\\)")):
        serverFromString(MemoryReactor(), description)


BAD_CLIENTS: list[tuple[str, str]] = [
    ("tcp:example.com", "missing port"),
    ("tcp:port=80", "missing host"),
    ("tcp:h:80:timeout=soon", "timeout must be a number"),
    ("unix", "missing path"),
    ("unix:/p:lockfile=1:checkPID=1", "not both"),
    ("ftp:h:21", "unknown endpoint kind 'ftp'"),
]


@pytest.mark.parametrize(("description", "message"), BAD_CLIENTS)
def test_bad_client_descriptions_raise_value_error(description: str, message: str) -> None:
    """Malformed client descriptions raise a ValueError that says what is wrong."""
    with pytest.raises(ValueError, match=message):
        clientFromString(MemoryReactor(), description)


def test_error_names_the_description() -> None:
    """The ValueError quotes the whole description it could not use."""
    with pytest.raises(ValueError, match="'tcp:eighty'"):
        serverFromString(MemoryReactor(), "tcp:eighty")


def test_unknown_kind_lists_the_known_ones() -> None:
    """An unknown kind's error lists the kinds that do exist."""
    with pytest.raises(ValueError, match=r"known: .*tcp.*tcp6.*unix"):
        serverFromString(MemoryReactor(), "sctp:80")
