"""Property tests: random callback chains agree with a plain reference model."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from plait.defer import Deferred, Failure, succeed

SIDES = st.sampled_from(["callback", "errback", "both"])
ACTIONS = st.sampled_from(["add", "raise", "failure", "fired", "later"])
STEPS = st.lists(st.tuples(SIDES, ACTIONS, st.integers(0, 100)), max_size=12)


class Tagged(Exception):
    """An exception carrying a number, so failures can be compared."""

    def __init__(self, tag: int) -> None:
        super().__init__(tag)
        self.tag = tag


def model(start: tuple[bool, int], steps: list[tuple[str, str, int]]) -> tuple[bool, int]:
    """The expected final (ok, value) computed without Deferreds."""
    ok, value = start
    for side, action, k in steps:
        runs = side == "both" or (side == "callback") == ok
        if not runs:
            continue
        if action == "add":
            ok, value = True, value + k
        elif action in ("raise", "failure"):
            ok, value = False, k
        else:  # a Deferred with value + k, fired now or later
            ok, value = True, value + k
    return ok, value


def build(steps: list[tuple[str, str, int]], pending: list[Deferred[int]]) -> Any:
    """Callbacks doing what ``model`` computes; 'later' Deferreds are collected in pending."""

    def act(result: Any, action: str, k: int) -> Any:
        value = result.value.tag if isinstance(result, Failure) else result
        if action == "add":
            return value + k
        if action == "raise":
            raise Tagged(k)
        if action == "failure":
            return Failure(Tagged(k))
        if action == "fired":
            return succeed(value + k)
        d: Deferred[int] = Deferred()
        d.addCallback(lambda v: v + value + k)
        pending.append(d)
        return d

    def add(d: Deferred[Any]) -> None:
        for side, action, k in steps:
            if side == "callback":
                d.addCallback(act, action, k)
            elif side == "errback":
                d.addErrback(act, action, k)
            else:
                d.addBoth(act, action, k)

    return add


def outcome(d: Deferred[Any], pending: list[Deferred[int]]) -> tuple[bool, int]:
    while pending:
        pending.pop(0).callback(0)
    got: list[Any] = []
    d.addBoth(got.append)
    (result,) = got
    if isinstance(result, Failure):
        return False, result.value.tag
    return True, result


@settings(max_examples=300, deadline=None)
@given(st.booleans(), st.integers(0, 100), STEPS, st.integers(0, 12))
def test_chain_matches_model(ok: bool, start: int, steps: Any, fireAt: int) -> None:
    """Any mix of callbacks/errbacks, fired before, during or after adding, matches the model."""
    pending: list[Deferred[int]] = []
    d: Deferred[int] = Deferred()
    add_first, add_rest = steps[:fireAt], steps[fireAt:]
    build(add_first, pending)(d)
    if ok:
        d.callback(start)
    else:
        d.errback(Tagged(start))
    build(add_rest, pending)(d)
    assert outcome(d, pending) == model((ok, start), steps)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100), STEPS, STEPS)
def test_returned_deferred_chain_matches_model(start: int, inner: Any, outer: Any) -> None:
    """A chain returned from a callback composes like the concatenated chain."""
    pending: list[Deferred[int]] = []
    innerD: Deferred[int] = Deferred()
    build(inner, pending)(innerD)
    d: Deferred[int] = Deferred()
    d.addCallback(lambda _: innerD)
    build(outer, pending)(d)
    d.callback(0)
    innerD.callback(start)
    assert outcome(d, pending) == model((True, start), inner + outer)
