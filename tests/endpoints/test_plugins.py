"""More endpoint kinds: the parser registry and entry-point plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from plait.endpoints import (
    TCP4ServerEndpoint,
    _strings,
    clientFromString,
    registerClientParser,
    registerServerParser,
    serverFromString,
)
from plait.testing import MemoryReactor


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no registered or cached plugin parsers."""
    monkeypatch.setattr(_strings, "_serverParsers", {})
    monkeypatch.setattr(_strings, "_clientParsers", {})


class Made:
    """What the fake parsers return: a record of how they were called."""

    def __init__(self, reactor: Any, *args: str, **kwargs: str) -> None:
        self.reactor = reactor
        self.args = args
        self.kwargs = kwargs

    def listen(self, factory: Any) -> Any:
        raise NotImplementedError

    def connect(self, factory: Any) -> Any:
        raise NotImplementedError


def test_registered_server_parser_gets_unescaped_arguments() -> None:
    """A registered parser is called with the reactor, positionals and keywords, unescaped."""
    registerServerParser("fake", Made)
    reactor = MemoryReactor()
    made = serverFromString(reactor, "fake:a\\:b:key=va\\=lue:c")
    assert isinstance(made, Made)
    assert made.reactor is reactor
    assert made.args == ("a:b", "c")
    assert made.kwargs == {"key": "va=lue"}


def test_registered_client_parser() -> None:
    """registerClientParser adds a kind to clientFromString only."""
    registerClientParser("fake", Made)
    made = clientFromString(MemoryReactor(), "fake:x")
    assert isinstance(made, Made)
    assert made.args == ("x",)
    with pytest.raises(ValueError, match="unknown endpoint kind 'fake'"):
        serverFromString(MemoryReactor(), "fake:x")


def test_registered_parser_wins_over_builtin() -> None:
    """Registering a built-in kind's prefix replaces it."""
    registerServerParser("tcp", Made)
    assert isinstance(serverFromString(MemoryReactor(), "tcp:80"), Made)


@pytest.mark.parametrize("prefix", ["", "a:b", "a=b", "a\\b"])
def test_bad_prefix_is_refused(prefix: str) -> None:
    """A prefix that a description could not spell is a ValueError."""
    with pytest.raises(ValueError, match="endpoint kind"):
        registerServerParser(prefix, Made)


def test_parser_value_error_names_the_description() -> None:
    """A parser's own ValueError comes out naming the description."""

    def picky(reactor: Any, *args: str, **kwargs: str) -> Any:
        raise ValueError("needs a colour")

    registerServerParser("picky", picky)
    with pytest.raises(ValueError, match=r"'picky:1'.*needs a colour"):
        serverFromString(MemoryReactor(), "picky:1")


def test_parser_given_options_it_does_not_take_is_a_value_error() -> None:
    """Unexpected options for a parser with a fixed signature become a ValueError."""

    def strict(reactor: Any, port: str) -> Any:
        return TCP4ServerEndpoint(reactor, int(port))

    registerServerParser("strict", strict)
    assert isinstance(serverFromString(MemoryReactor(), "strict:80"), TCP4ServerEndpoint)
    with pytest.raises(ValueError, match="'strict:80:colour=red'"):
        serverFromString(MemoryReactor(), "strict:80:colour=red")


def _install_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, body: str
) -> None:
    """Put a module and an installed distribution declaring endpoint entry points on sys.path."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(body))
    info = tmp_path / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            [plait.endpoints.server]
            {module} = {module}:parseServer
            [plait.endpoints.client]
            {module} = {module}:parser
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))


def test_entry_point_plugins_are_found_by_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kinds from installed entry points work: a function, or an object's parse method."""
    _install_plugin(
        tmp_path,
        monkeypatch,
        "plaitfakeplugin1",
        """\
        calls = []

        def parseServer(reactor, *args, **kwargs):
            calls.append(("server", args, kwargs))
            return ("server endpoint", args, kwargs)

        class Parser:
            def parseStreamClient(self, reactor, *args, **kwargs):
                calls.append(("client", args, kwargs))
                return ("client endpoint", args, kwargs)

        parser = Parser()
        """,
    )
    reactor = MemoryReactor()
    server: Any = serverFromString(reactor, "plaitfakeplugin1:1:a=b")
    client: Any = clientFromString(reactor, "plaitfakeplugin1:host")
    assert server == ("server endpoint", ("1",), {"a": "b"})
    assert client == ("client endpoint", ("host",), {})
    with pytest.raises(ValueError, match=r"known: .*plaitfakeplugin1"):
        serverFromString(reactor, "plaitnosuchplugin:1")


def test_plugin_that_fails_to_load_is_a_clear_value_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin whose import fails gives a ValueError naming the kind and the plugin."""
    _install_plugin(tmp_path, monkeypatch, "plaitfakeplugin2", "raise ImportError('broken')\n")
    with pytest.raises(ValueError, match=r"'plaitfakeplugin2'.*failed to load: broken"):
        serverFromString(MemoryReactor(), "plaitfakeplugin2:1")
