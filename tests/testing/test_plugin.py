"""The plait pytest plugin, run on small test files through ``pytester``."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

# Strict about unraisable reports; without the slow-to-start plugins that play no part here.
STRICT = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:benchmark",
    "-p",
    "no:hypothesispytest",
    "-W",
    "error::pytest.PytestUnraisableExceptionWarning",
)


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_sample=source)
    return pytester.runpytest(*STRICT, *args)


def test_returned_fired_deferred_passes(pytester: pytest.Pytester) -> None:
    """A test returning a Deferred that succeeded passes (no return-not-None warning)."""
    result = run(
        pytester,
        """
from plait.defer import succeed
def test_it():
    return succeed(1)
""",
        "-W",
        "error",
    )
    result.assert_outcomes(passed=1)


def test_returned_failing_deferred_fails(pytester: pytest.Pytester) -> None:
    """A test returning a failed Deferred fails with the original exception."""
    result = run(
        pytester,
        """
from plait.defer import fail
def test_it():
    return fail(ZeroDivisionError("bad sum"))
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ZeroDivisionError: bad sum*"])
    result.stdout.no_fnmatch_line("*not flushed*")


def test_returned_unfired_deferred_is_an_error(pytester: pytest.Pytester) -> None:
    """A test returning a Deferred that never fired fails and says why."""
    result = run(
        pytester,
        """
from plait.defer import Deferred
def test_it():
    return Deferred()
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*returned a Deferred that has not fired*"])


def test_async_tests_run(pytester: pytest.Pytester) -> None:
    """async def tests run: awaiting Deferreds, asyncio futures, and failing properly."""
    result = run(
        pytester,
        """
import asyncio
from plait.defer import Deferred, succeed
from plait.testing import Clock

async def test_awaits_fired():
    assert await succeed(2) == 2

async def test_awaits_clock(clock):
    d = Deferred()
    clock.callLater(1, d.callback, "late")
    clock.advance(1)
    assert await d == "late"

async def test_awaits_asyncio():
    await asyncio.sleep(0.01)
    d = Deferred()
    asyncio.get_running_loop().call_later(0.01, d.callback, 5)
    assert await d == 5

async def test_fails():
    await succeed(None)
    raise KeyError("async-broken")
""",
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'async-broken'*"])


def test_async_test_waiting_forever_times_out(pytester: pytest.Pytester) -> None:
    """An async test awaiting a Deferred nothing fires fails after plait_timeout."""
    result = run(
        pytester,
        """
import pytest
from plait.defer import Deferred

@pytest.mark.plait_timeout(0.05)
async def test_it():
    await Deferred()
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*did not finish within 0.05s*"])


def test_async_test_claimed_by_another_plugin_is_left_alone(pytester: pytest.Pytester) -> None:
    """An async def test with an asyncio marker goes to the plugin that claims it."""
    pytester.makeconftest(
        """
import pytest
claimed = []
def pytest_configure(config):
    config.addinivalue_line("markers", "asyncio: claimed elsewhere")
@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if pyfuncitem.get_closest_marker("asyncio"):
        pyfuncitem.obj(**pyfuncitem.funcargs).close()  # the other plugin's business
        claimed.append(pyfuncitem.name)
        return True
def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"claimed={claimed}")
"""
    )
    result = run(
        pytester,
        """
import pytest
@pytest.mark.asyncio
async def test_theirs():
    raise AssertionError("plait must not run this")
""",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["claimed=['test_theirs']"])


def test_unflushed_logged_failure_fails_the_test(pytester: pytest.Pytester) -> None:
    """A failure logged at error level and not flushed fails the test that logged it."""
    result = run(
        pytester,
        """
from plait.log import Logger
log = Logger()
def test_logs():
    try:
        1 / 0
    except ZeroDivisionError:
        log.failure("while adding up")
def test_quiet():
    log.warn("only a warning")
""",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*not flushed*", "*while adding up*", "*ZeroDivisionError*"])


def test_garbage_collected_unhandled_deferred_fails_once(pytester: pytest.Pytester) -> None:
    """A dropped Deferred with an unhandled failure fails the test, reported once, no warning."""
    result = run(
        pytester,
        """
import gc
from plait.defer import fail
class Cycle:
    pass
def test_drops_deferred():
    c = Cycle()
    c.me = c
    c.d = fail(ValueError("nobody handled me"))
""",
    )
    result.assert_outcomes(passed=1, errors=1)  # found by the teardown's gc.collect()
    result.stdout.fnmatch_lines(["*Unhandled error in Deferred*", "*nobody handled me*"])
    result.stdout.no_fnmatch_line("*PytestUnraisableExceptionWarning*")


def test_unhandled_deferred_promoted_to_old_generation_is_found(
    pytester: pytest.Pytester,
) -> None:
    """A cyclic Deferred that survived a collection (now in gen 2) is still found at teardown."""
    result = run(
        pytester,
        """
import gc
from plait.defer import fail
class Cycle:
    pass
def test_promotes():
    c = Cycle()
    c.me = c
    c.d = fail(ValueError("old and unhandled"))
    gc.collect()  # c is alive: promoted to the oldest generation
    del c
""",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*old and unhandled*"])


def test_flushed_logged_failures_pass(pytester: pytest.Pytester) -> None:
    """flushLoggedErrors(types) returns and forgets matching failures only."""
    result = run(
        pytester,
        """
import gc
from plait.defer import fail
from plait.testing import flushLoggedErrors
def test_flushes():
    fail(ValueError("v"))
    fail(KeyError("k"))
    gc.collect()
    flushed = flushLoggedErrors(ValueError)
    assert [f.type for f in flushed] == [ValueError]
    assert [f.type for f in flushLoggedErrors()] == [KeyError]
def test_flushes_nothing_left_over():
    assert flushLoggedErrors() == []
""",
    )
    result.assert_outcomes(passed=2)


def test_failing_test_carries_its_logged_failures(pytester: pytest.Pytester) -> None:
    """A test that fails anyway reports its logged failures with its error, not twice."""
    result = run(
        pytester,
        """
from plait.defer import fail
def test_both():
    fail(OSError("logged one"))
    assert False, "own failure"
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*own failure*", "*logged one*"])


def test_failure_logged_during_teardown_is_an_error(pytester: pytest.Pytester) -> None:
    """A failure logged by a fixture's teardown makes a teardown error."""
    result = run(
        pytester,
        """
import pytest
from plait.log import Logger
@pytest.fixture
def noisy():
    yield
    try:
        raise RuntimeError("teardown trouble")
    except RuntimeError:
        Logger().failure("cleaning up")
def test_it(noisy):
    pass
""",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*teardown trouble*"])


def test_other_unraisables_still_reach_pytest(pytester: pytest.Pytester) -> None:
    """An unraisable exception not from a Deferred is left to pytest's own reporting."""
    result = run(
        pytester,
        """
class Bad:
    def __del__(self):
        raise RuntimeError("from __del__")
def test_it():
    Bad()
""",
    )
    result.stdout.fnmatch_lines(["*from __del__*"])
    assert result.ret != 0


def test_fixtures(pytester: pytest.Pytester) -> None:
    """The clock and memory_reactor fixtures are fresh fakes."""
    result = run(
        pytester,
        """
from plait.testing import Clock, MemoryReactorClock
def test_it(clock, memory_reactor):
    assert isinstance(clock, Clock) and clock.seconds() == 0
    assert isinstance(memory_reactor, MemoryReactorClock)
    assert memory_reactor.tcpServers == []
""",
    )
    result.assert_outcomes(passed=1)


def test_flush_outside_a_test_raises() -> None:
    """flushLoggedErrors outside a plugin-run test raises RuntimeError."""
    from plait.testing import _logged

    saved = list(_logged._collectors)
    _logged._collectors.clear()
    try:
        with pytest.raises(RuntimeError):
            _logged.flushLoggedErrors()
    finally:
        _logged._collectors.extend(saved)


def test_events_still_reach_stdlib_logging(caplog: pytest.LogCaptureFixture) -> None:
    """While the plugin observes plait.log, events still reach stdlib logging (caplog)."""
    import logging

    from plait.log import Logger

    with caplog.at_level(logging.INFO, logger="plait.testing.probe"):
        Logger("plait.testing.probe").info("hello {who}", who="you")
    assert "hello you" in caplog.text
