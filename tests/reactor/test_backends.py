"""Choosing a backend by name, and the platform default."""

from __future__ import annotations

import sys

import pytest

from plait.reactor import (
    EPollReactor,
    PollReactor,
    PosixReactorBase,
    SelectReactor,
    defaultReactorClass,
    reactorClassNamed,
    reactorNames,
)


def test_named_backends() -> None:
    """'select', 'poll' and 'epoll' name their reactor classes; others are refused."""
    assert reactorClassNamed("select") is SelectReactor
    assert reactorClassNamed("poll") is PollReactor
    if "epoll" in reactorNames():
        assert reactorClassNamed("epoll") is EPollReactor
    with pytest.raises(ValueError):
        reactorClassNamed("iocp-on-a-toaster")
    if "kqueue" not in reactorNames():
        with pytest.raises(NotImplementedError):
            reactorClassNamed("kqueue")


def test_default_backend() -> None:
    """The default is epoll on Linux, and always a PosixReactorBase."""
    cls = defaultReactorClass()
    assert issubclass(cls, PosixReactorBase)
    if sys.platform.startswith("linux"):
        assert cls is EPollReactor
    assert reactorNames()[-1] == "select"
