"""The plait pytest plugin (registered through the ``pytest11`` entry point).

What it adds (see ``plait.testing`` for the user documentation):

- fixtures ``clock`` (a fresh ``Clock``) and ``memory_reactor`` (a fresh ``MemoryReactorClock``);
- test functions may return a ``Deferred`` (it must have fired: there is no reactor to wait on)
  or be ``async def`` (run through ``ensureDeferred`` inside a fresh asyncio loop, so both
  Deferreds and asyncio futures can be awaited; ``plait_timeout`` bounds the wait). ``async def`` tests that another
  plugin claims (an ``asyncio``/``anyio``/``trio`` marker, or a non-standard test item) are
  left to that plugin;
- a failure logged through ``plait.log`` at level error or critical during a test fails it,
  unless the test flushes it with ``plait.testing.flushLoggedErrors``. Garbage is collected at
  teardown so unhandled failures of dropped Deferreds are seen, and their
  "Unhandled error in Deferred" unraisable reports are swallowed (the log check covers them).

Plait modules are imported lazily, so the plugin loads even where plait's packages are
incomplete (it then skips what it cannot do).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import sys
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._clock import Clock
    from ._logged import LoggedErrors
    from ._memory import MemoryReactorClock

__all__ = [
    "clock",
    "memory_reactor",
    "pytest_addoption",
    "pytest_configure",
    "pytest_pyfunc_call",
    "pytest_runtest_call",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
]

#: Markers by which other plugins claim ``async def`` tests.
_CLAIMING_MARKERS = frozenset({"asyncio", "anyio", "trio", "tornado", "gen_test", "twisted"})
#: How plait.defer reports a garbage-collected unhandled failure to ``sys.unraisablehook``.
_UNHANDLED_PREFIX = "Unhandled error in Deferred"
_DEFAULT_TIMEOUT = 30.0


class _TestState:
    """What the plugin set up for one test."""

    def __init__(self, collector: LoggedErrors | None) -> None:
        self.collector = collector
        self.previousHook: Callable[[Any], object] | None = None
        self.gcMark = _gcMark()


def _gcMark() -> tuple[int, ...]:
    """How many collections of the older generations have run so far."""
    return tuple(generation["collections"] for generation in gc.get_stats()[1:])


def _collectTestGarbage(state: _TestState) -> None:
    """Collect the cyclic garbage the test made, so dropped Deferreds report their failures.

    While no collection of generation 1 or 2 ran during the test, everything the test
    allocated is still in the young generations and ``gc.collect(1)`` finds it (in
    microseconds); otherwise survivors may have been promoted and a full collection is needed.
    """
    if _gcMark() == state.gcMark:
        gc.collect(1)
    else:
        gc.collect()


_STATE = pytest.StashKey[_TestState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the ``plait_timeout`` ini option."""
    parser.addini(
        "plait_timeout",
        "seconds an async def test may run an asyncio loop before it fails (plait plugin)",
        default=str(_DEFAULT_TIMEOUT),
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``plait_timeout`` marker."""
    config.addinivalue_line(
        "markers", "plait_timeout(seconds): time limit for an async def test's asyncio loop"
    )


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    """A fresh ``plait.testing.Clock`` at time 0."""
    from ._clock import Clock

    return Clock()


@pytest.fixture
def memory_reactor() -> MemoryReactorClock:
    """A fresh ``plait.testing.MemoryReactorClock``: records listen/connect calls, fake time."""
    from ._memory import MemoryReactorClock

    return MemoryReactorClock()


# -- logged errors and unraisable reports ----------------------------------------------------


def _newCollector() -> LoggedErrors | None:
    try:
        from ._logged import LoggedErrors
    except ImportError:  # plait.log not importable (yet): no log check
        return None
    return LoggedErrors()


def _swallowingHook(
    state: _TestState, previous: Callable[[Any], object], unraisable: Any, /
) -> None:
    message = getattr(unraisable, "err_msg", None) or ""
    if state.collector is not None and message.startswith(_UNHANDLED_PREFIX):
        return  # the same failure was logged through plait.log: the log check reports it
    previous(unraisable)


def _describe(events: list[dict[str, Any]]) -> str:
    from plait.log import formatEvent

    lines = [
        f"{len(events)} failure(s) logged during the test and not flushed with "
        "plait.testing.flushLoggedErrors():"
    ]
    for event in events:
        lines.append("")
        lines.append(formatEvent(event))
        failure = event.get("log_failure")
        getTraceback = getattr(failure, "getTraceback", None)
        if getTraceback is not None:
            lines.append(getTraceback().rstrip("\n"))
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """Start collecting logged failures and watching unraisable reports before fixtures run."""
    state = _TestState(_newCollector())
    item.stash[_STATE] = state
    if state.collector is not None:
        state.collector.start()
    previous = sys.unraisablehook
    state.previousHook = previous
    sys.unraisablehook = functools.partial(_swallowingHook, state, previous)
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a test that passed but logged failures it did not flush."""
    state = item.stash.get(_STATE, None)
    try:
        result = yield
    except BaseException as e:
        # The test failed anyway: attach the logged failures to its error instead of
        # reporting them a second time at teardown.
        if state is not None and state.collector is not None and state.collector.events:
            e.add_note(_describe(state.collector.events))
            state.collector.events = []
        raise
    if state is not None and state.collector is not None and state.collector.events:
        events, state.collector.events = state.collector.events, []
        pytest.fail(_describe(events), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """After fixtures are torn down: collect garbage, stop collecting, report what is left."""
    try:
        return (yield)
    finally:
        state = item.stash.get(_STATE, None)
        if state is not None:
            del item.stash[_STATE]
            try:
                _collectTestGarbage(state)
            finally:
                if state.previousHook is not None:
                    sys.unraisablehook = state.previousHook
                if state.collector is not None:
                    state.collector.stop()
            if state.collector is not None and state.collector.events:
                events, state.collector.events = state.collector.events, []
                pytest.fail(_describe(events), pytrace=False)


# -- Deferred-returning and async def tests ----------------------------------------------------


def _claimedElsewhere(item: pytest.Function) -> bool:
    if type(item) is not pytest.Function:
        return True  # e.g. pytest-asyncio's own item classes
    return any(mark.name in _CLAIMING_MARKERS for mark in item.iter_markers())


def _timeout(item: pytest.Function) -> float:
    mark = item.get_closest_marker("plait_timeout")
    if mark is not None and mark.args:
        return float(mark.args[0])
    return float(item.config.getini("plait_timeout") or _DEFAULT_TIMEOUT)


def _finish(deferred: Any, nodeid: str) -> None:
    """Raise what a fired Deferred failed with; a Deferred that has not fired is an error."""
    from plait.defer import Failure

    results: list[object] = []
    deferred.addBoth(results.append)  # consumes the result: nothing is left unhandled
    if not results:
        pytest.fail(
            f"{nodeid} returned a Deferred that has not fired, and there is no reactor to wait "
            "for it (use plait.testing's fakes so it fires synchronously, or an async def test)",
            pytrace=False,
        )
    result = results[0]
    if isinstance(result, Failure):
        result.raiseException()


def _runCoroutine(coro: Coroutine[Any, Any, object], item: pytest.Function) -> None:
    """Run an ``async def`` test through ``ensureDeferred`` inside a fresh asyncio loop.

    A test that only awaits Deferreds firing synchronously (on fakes) finishes without the loop
    turning; one awaiting asyncio futures, or Deferreds fired from asyncio, runs the loop until
    it finishes or ``plait_timeout`` seconds pass.
    """
    from plait.defer import ensureDeferred

    timeout = _timeout(item)

    async def drive() -> None:
        deferred = ensureDeferred(coro)
        if deferred.called:
            _finish(deferred, item.nodeid)
            return
        future = deferred.asFuture(asyncio.get_running_loop())
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            pytest.fail(
                f"{item.nodeid} did not finish within {timeout}s of running an asyncio loop "
                "(is it waiting for a Deferred nothing will fire?)",
                pytrace=False,
            )

    with asyncio.Runner() as runner:
        runner.run(drive())


def _replacement(item: pytest.Function, original: Any) -> Callable[..., None] | None:
    if inspect.iscoroutinefunction(original):
        if _claimedElsewhere(item):
            return None
        try:
            import plait.defer  # noqa: F401
        except ImportError:
            return None

        @functools.wraps(original)
        def runAsync(*args: Any, **kwargs: Any) -> None:
            _runCoroutine(original(*args, **kwargs), item)

        return runAsync
    if not callable(original) or inspect.isasyncgenfunction(original):
        return None
    try:
        from plait.defer import Deferred
    except ImportError:
        return None

    @functools.wraps(original)
    def runSync(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if isinstance(result, Deferred):
            _finish(result, item.nodeid)
            return None
        return result

    return runSync


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """Let test functions return Deferreds or be ``async def`` (when no other plugin does)."""
    original = pyfuncitem.obj
    replacement = _replacement(pyfuncitem, original)
    if replacement is None:
        return (yield)
    pyfuncitem.obj = replacement
    try:
        return (yield)
    finally:
        pyfuncitem.obj = original
