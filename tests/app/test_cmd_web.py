"""The ``plait web`` subcommand object, without a subprocess (see tests/interop for those)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from plait.app._cmd_web import loadResource, webCommand
from plait.testing import MemoryReactorClock
from plait.web import Resource, Site
from plait.web.static import File


def options(*argv: str) -> argparse.Namespace:
    """Parse ``argv`` with the subcommand's own arguments."""
    parser = argparse.ArgumentParser()
    webCommand.addArguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_listen_on_8080(tmp_path: Path) -> None:
    """Without --listen the service listens on tcp:8080 and serves --path as a File."""
    reactor = MemoryReactorClock()
    service = webCommand.makeService(reactor, options("--path", str(tmp_path)))
    service.startService()
    [(port, factory, _, _)] = reactor.tcpServers
    site = getattr(factory, "_factory", factory)  # the service wraps it to track connections
    assert port == 8080 and isinstance(site, Site) and isinstance(site.resource, File)


def test_several_listen(tmp_path: Path) -> None:
    """Each --listen adds a listening port."""
    reactor = MemoryReactorClock()
    argv = ["--path", str(tmp_path), "--listen", "tcp:0", "--listen", "tcp:0"]
    webCommand.makeService(reactor, options(*argv)).startService()
    assert len(reactor.tcpServers) == 2


def test_show_hidden_flag(tmp_path: Path) -> None:
    """--path serves a File hiding dotfiles; --show-hidden turns that off."""

    def served(*argv: str) -> File:
        reactor = MemoryReactorClock()
        webCommand.makeService(reactor, options("--path", str(tmp_path), *argv)).startService()
        [(_, factory, _, _)] = reactor.tcpServers
        site = getattr(factory, "_factory", factory)
        assert isinstance(site.resource, File)
        return site.resource

    assert served().showHidden is False
    assert served("--show-hidden").showHidden is True


def test_bad_path_is_value_error(tmp_path: Path) -> None:
    """A --path that is not a directory is a one-line ValueError."""
    with pytest.raises(ValueError, match="not a directory"):
        webCommand.makeService(MemoryReactorClock(), options("--path", str(tmp_path / "nope")))


def test_load_resource(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--resource accepts an instance or a factory and refuses anything else."""
    (tmp_path / "resmod.py").write_text(
        "from plait.web import Resource\n"
        "root = Resource()\n"
        "class Page(Resource):\n    pass\n"
        "notOne = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert isinstance(loadResource("resmod:root"), Resource)
        assert type(loadResource("resmod:Page")).__name__ == "Page"
        for bad in ("resmod:notOne", "resmod:missing", "nomodule_xyz:root", "resmod"):
            with pytest.raises(ValueError):
                loadResource(bad)
    finally:
        sys.modules.pop("resmod", None)
    assert isinstance(File(tmp_path), Resource)
