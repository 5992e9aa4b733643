"""``react`` on the real default reactor, in subprocesses (it exits the process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest


def _react(body: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run a script that defines ``main`` and calls ``react(main, argv)``."""
    script = "from plait.app import react\n" + textwrap.dedent(body) + "\n"
    script += "import sys\nreact(main, sys.argv[1:])\n"
    env = dict(os.environ)
    env.pop("PLAIT_REACTOR", None)
    return subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_deferred_that_fires_later_exits_zero() -> None:
    """main returning a Deferred fired by callLater: the loop runs until then; status 0."""
    out = _react(
        """
        from plait.defer import Deferred

        def main(reactor, word):
            d = Deferred()
            reactor.callLater(0.05, d.callback, word)
            d.addCallback(print)
            return d
        """,
        "fired",
    )
    assert (out.returncode, out.stdout, out.stderr) == (0, "fired\n", "")


def test_coroutine_exits_zero() -> None:
    """An async main that awaits a Deferred fired later runs to its end; status 0."""
    out = _react(
        """
        from plait.defer import Deferred

        async def main(reactor):
            d = Deferred()
            reactor.callLater(0.05, d.callback, 21)
            print(await d * 2)
        """
    )
    assert (out.returncode, out.stdout, out.stderr) == (0, "42\n", "")


def test_failure_exits_one_with_the_traceback_on_stderr() -> None:
    """A main that fails later exits 1 and the traceback is visible (stdlib logging default)."""
    out = _react(
        """
        from plait.defer import Deferred

        def explode():
            raise ZeroDivisionError("later boom")

        def main(reactor):
            d = Deferred()
            reactor.callLater(0.05, d.callback, None)
            d.addCallback(lambda _: explode())
            return d
        """
    )
    assert out.returncode == 1
    assert "Traceback" in out.stderr
    assert "ZeroDivisionError: later boom" in out.stderr
    assert "in explode" in out.stderr


@pytest.mark.parametrize(("code", "status"), [("3", 3), ("0", 0), ("'bye'", 1)])
def test_system_exit_code_passes_through(code: str, status: int) -> None:
    """A SystemExit raised inside an async main exits with its code."""
    out = _react(
        f"""
        from plait.defer import Deferred

        async def main(reactor):
            d = Deferred()
            reactor.callLater(0.01, d.callback, None)
            await d
            raise SystemExit({code})
        """
    )
    assert out.returncode == status
    assert "Traceback" not in out.stderr


def test_main_uses_the_same_default_reactor() -> None:
    """react runs the default reactor, so plait.app.reactor inside main is that reactor."""
    out = _react(
        """
        import plait.app

        def main(reactor):
            print(reactor is plait.app.reactor)
        """
    )
    assert (out.returncode, out.stdout) == (0, "True\n")
