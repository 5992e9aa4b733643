"""The one-way layering rule of DESIGN.md §2, checked on the source's import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "plait"

# Package -> layer. A package may import plait packages of a strictly lower layer, itself,
# and the same-layer packages listed in SAME_LAYER_ALLOWED.
LAYERS: dict[str, int] = {
    "log": 0,
    "wire": 0,
    "defer": 1,
    "protocol": 2,
    "reactor": 3,
    "tls": 3,
    "task": 3,
    "endpoints": 4,
    "protocols": 5,
    "auth": 5,
    "web": 6,
    "remote": 6,
    "ssh": 6,
    "mail": 6,
    "news": 6,
    "chat": 6,
    "dns": 6,
    "db": 6,
    "app": 7,
}
# (importer, imported): deliberate edges inside one layer.
SAME_LAYER_ALLOWED = {
    ("reactor", "tls"),  # listenSSL/connectSSL wrap the TLS protocol
    ("task", "reactor"),  # task builds on IReactorTime and DelayedCall
}
# Modules plait.wire must never import: it is sans-IO.
WIRE_FORBIDDEN = {
    "socket",
    "select",
    "selectors",
    "time",
    "threading",
    "_thread",
    "asyncio",
    "ssl",
    "subprocess",
    "signal",
    "multiprocessing",
    "os",
    "concurrent",
}


def _imports(path: Path, root: Path = SRC.parent) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    pkg_parts = path.relative_to(root).with_suffix("").parts
    if pkg_parts[-1] == "__init__":
        pkg_parts = pkg_parts[:-1]
        base = list(pkg_parts)
    else:
        base = list(pkg_parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                mod = ".".join(anchor + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((node.lineno, mod))
            if node.module is None or node.level:
                found.extend((node.lineno, f"{mod}.{alias.name}") for alias in node.names)
    return found


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _package_of(path: Path) -> str | None:
    rel = path.relative_to(SRC).parts
    return rel[0] if len(rel) > 1 else None


def test_every_package_has_a_layer() -> None:
    """Every subpackage of plait (but testing) is given a layer here."""
    for child in SRC.iterdir():
        if child.is_dir() and (child / "__init__.py").exists() and child.name != "testing":
            assert child.name in LAYERS, f"plait.{child.name} has no layer in test_layering"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down(path: Path) -> None:
    """A module imports only plait packages of lower layers (or listed same-layer ones)."""
    pkg = _package_of(path)
    errors = []
    for lineno, mod in _imports(path):
        parts = mod.split(".")
        if parts[0] != "plait" or len(parts) < 2:
            if pkg == "wire" and parts[0] in WIRE_FORBIDDEN:
                errors.append(f"line {lineno}: plait.wire imports I/O module {mod}")
            continue
        target = parts[1]
        if target == "testing" and pkg != "testing":
            errors.append(f"line {lineno}: library code imports plait.testing")
            continue
        if pkg is None or pkg == "testing" or target == pkg or target not in LAYERS:
            continue
        if pkg == "wire" or pkg == "log":
            errors.append(f"line {lineno}: plait.{pkg} imports plait.{target}")
        elif LAYERS[target] > LAYERS[pkg] or (
            LAYERS[target] == LAYERS[pkg] and (pkg, target) not in SAME_LAYER_ALLOWED
        ):
            errors.append(
                f"line {lineno}: plait.{pkg} (L{LAYERS[pkg]}) imports plait.{target} "
                f"(L{LAYERS[target]})"
            )
    assert not errors, "\n".join(errors)


def test_checker_catches_an_upward_import(tmp_path: Path) -> None:
    """The import scanner sees relative and absolute imports (a check that can fail)."""
    mod = tmp_path / "plait" / "defer" / "_probe.py"
    mod.parent.mkdir(parents=True)
    mod.write_text("from ..reactor import x\nfrom . import _sibling\nimport plait.app\n")
    mods = [m for _, m in _imports(mod, root=tmp_path)]
    assert {"plait.reactor", "plait.defer._sibling", "plait.app"} <= set(mods)
