"""The ``--listen``/``--host-key``/``--state-dir`` options the server subcommands share."""

from __future__ import annotations

import argparse

from plait.app import MultiService, Service
from plait.app._serveroptions import addHostKeyArguments, addListenArgument, listenServices
from plait.protocol import Factory, Protocol
from plait.testing import MemoryReactorClock


def listenParser(default: str = "tcp:7", note: str = "") -> argparse.ArgumentParser:
    """A parser with only ``--listen``."""
    parser = argparse.ArgumentParser()
    addListenArgument(parser, default, note)
    return parser


def test_listen_defaults_to_one_endpoint() -> None:
    """Without --listen the value is the default, alone."""
    assert listenParser("tcp:8023").parse_args([]).listen == ["tcp:8023"]


def test_listen_given_replaces_default_and_repeats() -> None:
    """Given --listen options replace the default and keep their order."""
    options = listenParser().parse_args(["--listen", "tcp:1", "--listen", "unix:/x"])
    assert options.listen == ["tcp:1", "unix:/x"]


def test_listen_default_is_not_shared_between_parses() -> None:
    """A parse that gives --listen leaves the next parse's default intact."""
    parser = listenParser()
    parser.parse_args(["--listen", "tcp:1"])
    assert parser.parse_args([]).listen == ["tcp:7"]


def test_listen_help_names_default_and_note() -> None:
    """The help text says the default and the command's note."""
    text = " ".join(listenParser("tcp:8080", ", ssl: too").format_help().split())
    assert "where to listen (endpoint string, ssl: too; repeatable; default tcp:8080)" in text


def test_listenServices_one_port_per_endpoint() -> None:
    """Each endpoint string becomes a listening port of the one factory, in order."""
    reactor = MemoryReactorClock()
    factory = Factory.forProtocol(Protocol)
    top = listenServices(reactor, ["tcp:1234", "tcp:0"], factory)
    assert isinstance(top, MultiService) and len(list(top)) == 2
    top.startService()
    assert [port for port, *_ in reactor.tcpServers] == [1234, 0]


def test_listenServices_joins_parent() -> None:
    """With a parent the services join it after its existing children."""
    parent = MultiService()
    Service().setServiceParent(parent)
    top = listenServices(MemoryReactorClock(), ["tcp:0"], Factory(), parent=parent)
    assert top is parent and len(list(parent)) == 2


def test_host_key_options() -> None:
    """--host-key repeats (default none); --state-dir takes the command's help text."""
    parser = argparse.ArgumentParser()
    addHostKeyArguments(parser, stateDirHelp="where keys live")
    options = parser.parse_args(["--host-key", "a", "--host-key", "b", "--state-dir", "d"])
    assert (options.host_key, options.state_dir) == (["a", "b"], "d")
    assert parser.parse_args([]).host_key == [] and "where keys live" in parser.format_help()
