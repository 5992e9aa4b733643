"""Very long chains of Deferreds run without recursion."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Generator
from typing import Any

from plait.defer import Deferred, ensureDeferred, inlineCallbacks, succeed

DEPTH = 10_000


def test_recursion_limit_is_smaller_than_depth() -> None:
    """The tests below are only meaningful if the depth exceeds the recursion limit."""
    assert sys.getrecursionlimit() < DEPTH


def test_deep_chain_of_returned_deferreds_fired_last() -> None:
    """Each Deferred's callback returns the next unfired one; firing the last unwinds them all."""
    ds: list[Deferred[int]] = [Deferred() for _ in range(DEPTH)]
    for here, there in itertools.pairwise(ds):
        here.addCallback(lambda _, there=there: there)
    got: list[int] = []
    ds[0].addCallback(got.append)
    for d in ds[:-1]:
        d.callback(0)
    assert got == []
    ds[-1].callback(7)
    assert got == [7]


def test_deep_chain_of_returned_deferreds_fired_first() -> None:
    """Each callback returns an already-fired Deferred; the whole chain resolves at once."""
    ds = [succeed(i) for i in range(DEPTH)]
    got: list[int] = []
    d: Deferred[Any] = Deferred()
    for inner in ds:
        d.addCallback(lambda _, inner=inner: inner)
    d.addCallback(got.append)
    d.callback(None)
    assert got == [DEPTH - 1]


def test_deep_nesting_inner_fired_before_outer() -> None:
    """Nested Deferreds fired innermost-first resolve when the outermost fires."""
    ds: list[Deferred[int]] = [Deferred() for _ in range(DEPTH)]
    for here, there in itertools.pairwise(ds):
        here.addCallback(lambda _, there=there: there)
    got: list[int] = []
    ds[0].addCallback(got.append)
    ds[-1].callback(3)
    for d in reversed(ds[:-1]):
        d.callback(0)
    assert got == [3]


def test_deep_nesting_via_inner_callbacks() -> None:
    """A Deferred waits on one that waits on another, DEPTH deep, built inner-to-outer."""
    innermost: Deferred[int] = Deferred()
    current: Deferred[int] = innermost
    for _ in range(DEPTH):
        outer: Deferred[int] = Deferred()
        outer.addCallback(lambda _, c=current: c)
        outer.callback(0)
        current = outer
    got: list[int] = []
    current.addCallback(got.append)
    innermost.callback(11)
    assert got == [11]


def test_deep_failure_chain() -> None:
    """A failure travels through DEPTH waiting Deferreds to the outermost errback."""
    ds: list[Deferred[int]] = [Deferred() for _ in range(DEPTH)]
    for here, there in itertools.pairwise(ds):
        here.addCallback(lambda _, there=there: there)
    caught: list[type] = []
    ds[0].addErrback(lambda f: caught.append(f.type))
    for d in ds[:-1]:
        d.callback(0)
    ds[-1].errback(KeyError("deep"))
    assert caught == [KeyError]


def test_coroutine_awaiting_many_fired_deferreds() -> None:
    """A coroutine awaiting DEPTH fired Deferreds (and a generator yielding them) is fine."""

    async def many() -> int:
        total = 0
        for _i in range(DEPTH):
            total += await succeed(1)
        return total

    d = ensureDeferred(many())
    assert d.result == DEPTH


def test_deep_chainDeferred() -> None:
    """chainDeferred DEPTH times passes the result along without recursion."""
    ds: list[Deferred[int]] = [Deferred() for _ in range(DEPTH)]
    for here, there in itertools.pairwise(ds):
        here.chainDeferred(there)
    got: list[int] = []
    ds[-1].addCallback(got.append)
    ds[0].callback(5)
    assert got == [5]
    assert ds[0].result is None


def test_deep_chain_of_coroutines_awaiting_each_other() -> None:
    """DEPTH coroutines, each awaiting the previous one's Deferred, unwind without recursion."""
    leaf: Deferred[int] = Deferred()
    last: Deferred[int] = leaf
    for _ in range(DEPTH):

        async def waiter(previous: Deferred[int] = last) -> int:
            return (await previous) + 1

        last = ensureDeferred(waiter())
    leaf.callback(0)
    got: list[int] = []
    last.addCallback(got.append)
    assert got == [DEPTH]


def test_deep_chain_of_coroutines_failing() -> None:
    """A failure thrown through DEPTH awaiting coroutines reaches the last one's Deferred."""
    leaf: Deferred[int] = Deferred()
    last: Deferred[int] = leaf
    for _ in range(DEPTH):

        async def waiter(previous: Deferred[int] = last) -> int:
            return await previous

        last = ensureDeferred(waiter())
    leaf.errback(KeyError("leaf"))
    caught: list[type] = []
    last.addErrback(lambda f: caught.append(f.type))
    assert caught == [KeyError]


def test_deep_chain_of_inlineCallbacks_generators() -> None:
    """DEPTH inlineCallbacks generators, each yielding the previous one's Deferred."""
    leaf: Deferred[int] = Deferred()
    last: Deferred[int] = leaf
    for _ in range(DEPTH):

        @inlineCallbacks
        def waiter(previous: Deferred[int] = last) -> Generator[Any, Any, int]:
            value = yield previous
            return value + 1

        last = waiter()
    leaf.callback(0)
    got: list[int] = []
    last.addCallback(got.append)
    assert got == [DEPTH]
