"""Importing any plait module has no side effects (DESIGN.md §2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "plait"

PROBE = r"""
import importlib, pkgutil, signal, sys, threading
import plait
before_threads = threading.active_count()
before_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)}
names = []
for info in pkgutil.walk_packages(plait.__path__, "plait."):
    if info.name.startswith("plait.testing._pytest"):
        continue
    try:
        importlib.import_module(info.name)
    except ImportError as e:
        # optional extras (uvloop, PySide6, ...) may be absent
        if getattr(e, "name", None) and not e.name.startswith("plait"):
            continue
        raise
    names.append(info.name)
assert threading.active_count() == before_threads, "an import started a thread"
after = {s: signal.getsignal(s) for s in before_signals}
assert after == before_signals, "an import installed a signal handler"
import asyncio
try:
    asyncio.get_running_loop()
    raise AssertionError("an import started an asyncio loop")
except RuntimeError:
    pass
print(len(names))
"""


def test_importing_every_module_has_no_side_effects() -> None:
    """Import every plait module in a fresh interpreter: no threads, signals or loops appear."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 1
