"""The benchmark row declarations (benchmarks/rows) are consistent and importable without peers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_ROWS = Path(__file__).resolve().parents[2] / "benchmarks" / "rows"


def _load() -> ModuleType:
    # A private package name, so the harness's modules cannot clash with anything else here.
    spec = importlib.util.spec_from_file_location(
        "plait_bench_rows", _ROWS / "__init__.py", submodule_search_locations=[str(_ROWS)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rows = _load()


def test_rowsDeclaredWithoutPeers() -> None:
    """Every row module imports with the plain interpreter (no Twisted, uvloop or matplotlib)."""
    ids = [row.id for row in rows.allRows()]
    assert {"deferred.a", "timers.callLater", "tcp.pingpong50", "tcp.idle"} <= set(ids)
    assert len(ids) == len(set(ids))


def test_everyRowComparesPlait() -> None:
    """Each row measures plait, names its implementations once, and targets measured ones."""
    for row in rows.allRows():
        names = [impl.name for impl in row.impls]
        assert len(names) == len(set(names)), row.id
        assert row.plaitName() is not None, row.id
        for target in row.targets:
            assert target.plait in names and target.peer in names, (row.id, target)
            assert target.minimum > 0


def test_findRow() -> None:
    """findRow returns the declared row and rejects unknown ids."""
    assert rows.findRow("deferred.d").unit == "ops/s"
    with pytest.raises(KeyError):
        rows.findRow("no.such.row")
