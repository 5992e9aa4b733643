"""The default reactor for scripts: lazy creation, ``PLAIT_REACTOR``, ``installReactor``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

import plait.app
from plait.app import ReactorAlreadyInstalledError, _default, getDefaultReactor, installReactor
from plait.testing import MemoryReactor


@pytest.fixture(autouse=True)
def _no_default_reactor() -> Iterator[None]:
    """Each test starts and ends with no default reactor installed."""
    previous = _default._installed
    _default._uninstall()
    yield
    _default._installed = previous


def test_install_then_get() -> None:
    """An installed reactor is the default: getDefaultReactor and plait.app.reactor give it."""
    reactor = MemoryReactor()
    installReactor(reactor)
    assert getDefaultReactor() is reactor
    assert plait.app.reactor is reactor


def test_install_twice_fails() -> None:
    """Installing when a default reactor exists raises ReactorAlreadyInstalledError."""
    installReactor(MemoryReactor())
    with pytest.raises(ReactorAlreadyInstalledError, match="already installed"):
        installReactor(MemoryReactor())


def test_other_attributes_still_raise() -> None:
    """The module __getattr__ only makes 'reactor'; other missing names are AttributeErrors."""
    with pytest.raises(AttributeError, match="nosuchname"):
        plait.app.nosuchname  # noqa: B018


def test_reactor_is_not_in_all() -> None:
    """A star import does not create the default reactor."""
    assert "reactor" not in plait.app.__all__


def _run(code: str, reactorName: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PLAIT_REACTOR", None)
    if reactorName is not None:
        env["PLAIT_REACTOR"] = reactorName
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


PROBE = """
import plait.app
from plait.app import _default
assert _default._installed is None, "importing plait.app created a reactor"
from plait.app import reactor
assert plait.app.reactor is reactor and plait.app.getDefaultReactor() is reactor
try:
    plait.app.installReactor(object())
except plait.app.ReactorAlreadyInstalledError:
    pass
else:
    raise AssertionError("installReactor after first use did not fail")
print(type(reactor).__name__)
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [("select", "SelectReactor"), ("poll", "PollReactor"), ("epoll", "EPollReactor")],
)
def test_environment_variable_chooses_the_class(name: str, expected: str) -> None:
    """PLAIT_REACTOR picks the class of the lazily created default reactor."""
    if name == "epoll" and not sys.platform.startswith("linux"):
        pytest.skip("epoll is Linux only")
    out = _run(PROBE, name)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_no_environment_variable_uses_the_platform_default() -> None:
    """Without PLAIT_REACTOR the default is plait.reactor.defaultReactorClass()."""
    out = _run(PROBE, None)
    assert out.returncode == 0, out.stderr
    from plait.reactor import defaultReactorClass

    assert out.stdout.strip() == defaultReactorClass().__name__


def test_unknown_name_fails_listing_the_choices() -> None:
    """An unknown PLAIT_REACTOR fails on first use with a ValueError listing the choices."""
    out = _run("from plait.app import reactor", "kqueue-please")
    assert out.returncode == 1
    assert "ValueError" in out.stderr
    assert "PLAIT_REACTOR='kqueue-please'" in out.stderr
    assert "select" in out.stderr
