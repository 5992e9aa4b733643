"""Measure one (row, implementation) pair; run by `run.py` in a fresh venv subprocess.

Writes a JSON object to --out: {"samples": [...]} on success, or {"error": "..."} /
{"unavailable": "..."} when the implementation failed or does not exist (yet).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from rows import Context, Unavailable, findRow  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--row", required=True)
    parser.add_argument("--impl", required=True)
    parser.add_argument("--samples", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    ctx = Context(
        samples=args.samples,
        seconds=args.seconds,
        quick=args.quick,
        buildDir=Path(args.build_dir),
        python=sys.executable,
        benchDir=BENCH_DIR,
        pin=args.pin,
    )
    result: dict[str, object]
    try:
        impl = findRow(args.row).impl(args.impl)
        samples = impl.measure(ctx)
        result = {"samples": [float(s) for s in samples], "extras": ctx.extras}
    except Unavailable as e:
        result = {"unavailable": str(e)}
    except Exception as e:
        traceback.print_exc()
        result = {"error": f"{type(e).__name__}: {e}"}
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
