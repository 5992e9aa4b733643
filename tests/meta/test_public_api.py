"""Each package's public surface is exactly its ``__all__``, pinned here (DESIGN.md §2).

The pinned surfaces live in ``tests/meta/api/<module>.txt``, one name a line. Changing a public
surface is a decision: update that file in the same commit.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

API = Path(__file__).parent / "api"
PINNED = {p.stem: set(p.read_text().split()) for p in sorted(API.glob("*.txt"))}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_public_surface_is_pinned(name: str) -> None:
    """``__all__`` matches the pinned set, and every name in it exists."""
    mod = importlib.import_module(name)
    assert set(mod.__all__) == PINNED[name]
    for attr in mod.__all__:
        assert hasattr(mod, attr), f"{name}.{attr} is in __all__ but missing"


def test_every_public_package_is_pinned() -> None:
    """Every plait package with an ``__all__`` has a pinned surface."""
    src = Path(__file__).resolve().parents[2] / "src" / "plait"
    for init in src.rglob("__init__.py"):
        parts = init.parent.relative_to(src.parent).parts
        if any(p.startswith("_") for p in parts):
            continue
        name = ".".join(parts)
        mod = importlib.import_module(name)
        if hasattr(mod, "__all__"):
            assert name in PINNED, f"{name} has __all__ but no tests/meta/api/{name}.txt"
