"""Benchmark rows: each module in this package declares ``ROWS``, a list of `Row`.

A row is one measured quantity (say "ping-pong messages/s over 50 connections"); it lists the
implementations that are measured side by side, and optionally a target for plait. The harness
(`run.py`, plain stdlib python) imports these modules only to read the declarations; the
measurement functions run inside a fresh subprocess of the benchmark virtualenv (`worker.py`),
so a row module must import peers (Twisted, uvloop...) and plait only inside its functions.

To add rows (UDP, TLS, HTTP...), drop a module here that defines ``ROWS``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Context:
    """What a measurement function gets, inside the worker subprocess."""

    samples: int  # how many samples to return
    seconds: float  # wall time per sample for time-bounded rows
    quick: bool
    buildDir: Path  # where the C programs were built
    python: str  # the benchmark virtualenv's python (to start servers)
    benchDir: Path  # the benchmarks/ directory
    pin: bool  # pin servers to CPU 0 and load generators to CPU 1 with taskset
    # Secondary figures a measurement may record, one value per sample (e.g. server CPU per op).
    extras: dict[str, list[float]] = field(default_factory=dict)

    def record(self, name: str, value: float) -> None:
        """Record one value of a secondary figure for the sample being taken."""
        self.extras.setdefault(name, []).append(value)


class Unavailable(Exception):
    """Raised by a measurement when the implementation does not exist (yet) on this machine."""


Measure = Callable[[Context], list[float]]


@dataclass(frozen=True)
class Impl:
    """One implementation measured on a row: a display name and the function that measures it."""

    name: str
    measure: Measure
    reference: bool = False  # shown for context only; no ratio is printed against plait


@dataclass(frozen=True)
class Target:
    """plait's implementation `plait` must be at least `minimum` times better than `peer`."""

    peer: str
    minimum: float
    plait: str = "plait"
    source: str = ""


@dataclass(frozen=True)
class Row:
    """One measured quantity and the implementations measured on it."""

    id: str
    title: str
    unit: str
    impls: tuple[Impl, ...]
    higherIsBetter: bool = True
    targets: tuple[Target, ...] = ()
    needsC: bool = False  # needs benchmarks/c built
    seconds: tuple[float, float] = (0.7, 0.25)  # per-sample duration: full run, --quick
    timeout: Callable[[Context], float] = field(default=lambda ctx: 60 + ctx.samples * 20)
    note: str = ""

    def impl(self, name: str) -> Impl:
        """The implementation called `name` (KeyError if none)."""
        for impl in self.impls:
            if impl.name == name:
                return impl
        raise KeyError(f"{self.id} has no implementation {name!r}")

    def plaitName(self) -> str | None:
        """The implementation ratios are computed for: the first whose name starts with 'plait'."""
        for impl in self.impls:
            if impl.name.startswith("plait"):
                return impl.name
        return None


def allRows() -> list[Row]:
    """Every row of every module in this package, in module then declaration order."""
    rows: list[Row] = []
    modules = sorted(
        info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
    )
    for name in _ordered(modules):
        module = importlib.import_module(f"{__name__}.{name}")
        rows.extend(getattr(module, "ROWS", []))
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            raise ValueError(f"duplicate benchmark row id {row.id!r}")
        seen.add(row.id)
    return rows


# Cheap rows first; new modules sort after these, alphabetically.
_FIRST = ("deferreds", "timers", "tcp")


def _ordered(names: list[str]) -> list[str]:
    first = [n for n in _FIRST if n in names]
    return first + [n for n in names if n not in _FIRST]


def findRow(rowId: str) -> Row:
    """The row called `rowId` (KeyError if none)."""
    for row in allRows():
        if row.id == rowId:
            return row
    raise KeyError(f"no benchmark row {rowId!r}")
