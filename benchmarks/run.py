#!/usr/bin/env python3
"""plait's benchmark harness: plait and its peers side by side in one run, with ratios.

    python3 benchmarks/run.py [--rows PATTERN] [--repeat N] [--quick] [--json F] [--png F]

Creates (or reuses) benchmarks/.venv with Twisted, uvloop, matplotlib and plait (editable),
builds the C programs into benchmarks/.build/, then measures every (row, implementation) pair in
a fresh subprocess of that venv and prints a table. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
VENV = BENCH_DIR / ".venv"
BUILD = BENCH_DIR / ".build"
RESULTS = BENCH_DIR / ".results"
PEERS = (
    "twisted",
    "uvloop",
    "matplotlib",
    "aiohttp",
    "psycopg[binary]",
    "pyopenssl",
    "service-identity",
    "httptools",  # the raw httptools+uvloop protocol of the web rows
)
C_PROGRAMS = ("loadgen", "echo_epoll")

sys.path.insert(0, str(BENCH_DIR))

from rows import Context, Row, allRows  # noqa: E402
from stats import Summary, formatRatio, formatValue, ratio, summarize, targetMet  # noqa: E402


@dataclass
class Outcome:
    """What one (row, implementation) measurement produced."""

    impl: str
    reference: bool
    samples: list[float] = field(default_factory=list)
    extras: dict[str, list[float]] = field(default_factory=dict)
    summary: Summary | None = None
    error: str | None = None
    unavailable: str | None = None
    seconds: float = 0.0
    loadBefore: float = 0.0  # 1-minute load average when the measurement started


@dataclass
class RowResult:
    row: Row
    outcomes: list[Outcome]
    ratios: dict[str, float | None] = field(default_factory=dict)
    targets: list[dict[str, object]] = field(default_factory=list)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- environment -------------------------------------------------------------------------------


def venvPython() -> Path:
    return VENV / "bin" / "python"


def ensureVenv(rebuild: bool) -> Path:
    """Create benchmarks/.venv with the peers and an editable plait, unless it is up to date."""
    python = venvPython()
    stamp = VENV / ".plait-bench-stamp"
    want = json.dumps({"peers": PEERS, "repo": str(REPO), "python": sys.version})
    if not rebuild and python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    if not rebuild and python.exists() and stamp.exists() and _samePython(stamp, want):
        # Only the peer list changed: add to the venv in place instead of recreating it.
        log(f"updating {VENV} (peers: {', '.join(PEERS)}) ...")
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        if subprocess.run([*pip, *PEERS], check=False).returncode == 0:
            stamp.write_text(want)
            return python
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if not rebuild and python.exists() and stamp.exists() and _sameBase(stamp.read_text(), want):
        # Only the peer list changed: install what is new into the venv in place.
        log(f"updating {VENV} (peers: {', '.join(PEERS)}) ...")
        if subprocess.run([*pip, *PEERS], check=False).returncode == 0:
            stamp.write_text(want)
            return python
    log(f"creating {VENV} (peers: {', '.join(PEERS)}; plait editable from {REPO}) ...")
    if VENV.exists():
        shutil.rmtree(VENV)
    if subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False).returncode:
        raise SystemExit(f"cannot create {VENV} (on Debian: apt-get install python3-venv)")
    if subprocess.run([*pip, *PEERS], check=False).returncode:
        raise SystemExit(f"cannot install the peers ({', '.join(PEERS)}) into {VENV}")
    # plait has no dependencies; an install failure leaves its rows "not available".
    done = subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=False)
    if done.returncode != 0:
        log("warning: installing plait into the venv failed; plait rows will be unavailable")
    else:
        stamp.write_text(want)
    return python


def _sameBase(old: str, new: str) -> bool:
    """Whether two venv stamps differ at most in the peer list (same repo and Python)."""
    try:
        a, b = json.loads(old), json.loads(new)
    except ValueError:
        return False
    return bool(a.get("repo") == b.get("repo") and a.get("python") == b.get("python"))


def _samePython(stamp: Path, want: str) -> bool:
    try:
        old = json.loads(stamp.read_text())
    except ValueError:
        return False
    new = json.loads(want)
    return bool(old.get("python") == new["python"] and old.get("repo") == new["repo"])


def buildC() -> str | None:
    """Build benchmarks/c/*.c with `cc -O2` into benchmarks/.build; return an error or None."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return "no C compiler (cc) found"
    BUILD.mkdir(exist_ok=True)
    for name in C_PROGRAMS:
        source, binary = BENCH_DIR / "c" / f"{name}.c", BUILD / name
        if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
            continue
        done = subprocess.run(
            [cc, "-O2", "-Wall", "-o", str(binary), str(source)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"cc failed on {source.name}: {done.stderr.strip()[-500:]}"
    return None


def canPin() -> tuple[bool, str]:
    if shutil.which("taskset") is None:
        return False, "not pinned: taskset not found"
    cpus = len(os.sched_getaffinity(0))
    if cpus < 2 or not {0, 1} <= os.sched_getaffinity(0):
        return False, f"not pinned: needs CPUs 0 and 1, have {cpus}"
    return True, "servers pinned to CPU 0, load generators to CPU 1 (taskset)"


def machineInfo(python: Path, pinning: str) -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    probe = (
        "import json, platform, importlib.metadata as m\n"
        "v = {}\n"
        f"for p in {tuple(p.split('[')[0] for p in (*PEERS, 'plait'))!r}:\n"
        "    try: v[p] = m.version(p)\n"
        "    except Exception: v[p] = None\n"
        "print(json.dumps({'python': platform.python_version(), 'versions': v}))\n"
    )
    venv: dict[str, object] = {}
    try:
        out = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=True
        )
        venv = json.loads(out.stdout)
    except (subprocess.SubprocessError, ValueError) as e:
        venv = {"error": str(e)}
    commit = _run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    if _run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"]):
        commit += " + uncommitted changes in src/"
    cc = _run(["cc", "--version"]).splitlines()
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": venv.get("python"),
        "versions": venv.get("versions", venv),
        "plait_commit": commit,
        "cc": cc[0] if cc else None,
        "pinning": pinning,
        "loadavg_at_start": round(os.getloadavg()[0], 2),
    }


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# --- measuring ---------------------------------------------------------------------------------


def runWorker(
    row: Row, outcome: Outcome, samples: int, python: Path, args: argparse.Namespace, pin: bool
) -> None:
    """Run worker.py for one (row, implementation) in a fresh subprocess, bounded in time.

    Appends the samples it took to `outcome`, or sets its error / unavailable reason.
    """
    seconds = row.seconds[1 if args.quick else 0]
    logPath = RESULTS / "logs" / f"{row.id}.{outcome.impl}.{len(outcome.samples)}.log"
    logPath.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            str(python),
            str(BENCH_DIR / "worker.py"),
            f"--row={row.id}",
            f"--impl={outcome.impl}",
            f"--samples={samples}",
            f"--seconds={seconds}",
            f"--build-dir={BUILD}",
            f"--out={out}",
        ]
        cmd += ["--quick"] if args.quick else []
        cmd += ["--pin"] if pin else []
        ctx = Context(samples, seconds, args.quick, BUILD, str(python), BENCH_DIR, pin)
        timeout = row.timeout(ctx)
        outcome.loadBefore = max(outcome.loadBefore, os.getloadavg()[0])
        started = time.monotonic()
        with logPath.open("w") as logFile:
            proc = subprocess.Popen(
                cmd, stdout=logFile, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO
            )
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                outcome.error = f"timed out after {timeout:.0f} s"
            finally:
                _killGroup(proc)
        outcome.seconds += time.monotonic() - started
        if outcome.error is not None:
            return
        try:
            result = json.loads(out.read_text())
        except (OSError, ValueError):
            tail = logPath.read_text().strip().splitlines()[-1:] or ["no output"]
            result = {"error": f"worker exited {proc.returncode}: {tail[0]}"}
        outcome.error = result.get("error")
        outcome.unavailable = result.get("unavailable")
        outcome.samples.extend(result.get("samples", []))
        for name, values in result.get("extras", {}).items():
            outcome.extras.setdefault(name, []).extend(values)


def measureRow(
    row: Row, python: Path, args: argparse.Namespace, pin: bool, buildError: str | None
) -> RowResult:
    """Measure every selected implementation of a row.

    By default the implementations are interleaved: round k takes one sample of each, each in
    its own fresh subprocess, so a change in background load hits every implementation alike.
    With --batch each implementation takes all its samples in one subprocess (faster).
    """
    repeat = args.repeat or (3 if args.quick else 5)
    outcomes = [
        Outcome(impl.name, impl.reference) for impl in row.impls if re.search(args.impls, impl.name)
    ]
    rounds, perRound = (1, repeat) if args.batch else (repeat, 1)
    for o in outcomes:
        if row.needsC and buildError:
            o.error = buildError
    for _ in range(rounds):
        for o in outcomes:
            if o.error or o.unavailable:
                continue  # failed once: do not retry in later rounds
            runWorker(row, o, perRound, python, args, pin)
    for o in outcomes:
        if o.samples and o.error is None and o.unavailable is None:
            try:
                o.summary = summarize(o.samples)
            except ValueError as e:
                o.error = str(e)
        if o.summary:
            what = f"{formatValue(o.summary.median)} {row.unit}"
        else:
            what = f"not available: {o.unavailable}" if o.unavailable else f"error: {o.error}"
        log(f"  {row.id} / {o.impl}: {what} ({o.seconds:.1f} s)")
    result = RowResult(row, outcomes)
    evaluate(result)
    return result


def _killGroup(proc: subprocess.Popen[bytes]) -> None:
    """Kill the worker and anything it started (servers, load generators)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def evaluate(result: RowResult) -> None:
    """Fill in the ratios of plait's median to each peer's, and check the row's targets."""
    row = result.row
    plaitName = row.plaitName()
    byName = {o.impl: o for o in result.outcomes}
    plait = byName.get(plaitName) if plaitName else None
    for o in result.outcomes:
        if o.impl.startswith("plait"):
            continue
        if plait and plait.summary and o.summary:
            result.ratios[o.impl] = ratio(
                plait.summary.median, o.summary.median, row.higherIsBetter
            )
        else:
            result.ratios[o.impl] = None
    for target in row.targets:
        measured: float | None = None
        mine, peer = byName.get(target.plait), byName.get(target.peer)
        if mine and peer and mine.summary and peer.summary:
            measured = ratio(mine.summary.median, peer.summary.median, row.higherIsBetter)
        result.targets.append(
            {
                "plait": target.plait,
                "peer": target.peer,
                "minimum": target.minimum,
                "measured": measured,
                "met": targetMet(measured, target.minimum),
                "source": target.source,
            }
        )


# --- reporting ---------------------------------------------------------------------------------

HEADER = (
    "row",
    "implementation",
    "median",
    "min-max",
    "unit",
    "plait/impl",
    "target",
    "CPU-time view",
)
SERVER_CPU = "server_cpu_us_per_op"


def tableLines(results: list[RowResult]) -> list[str]:
    lines: list[list[str]] = []
    for result in results:
        row = result.row
        targetsByPeer = {t["peer"]: t for t in result.targets}
        for o in result.outcomes:
            name = o.impl + (" (ref)" if o.reference else "")
            if o.summary:
                cells = [
                    formatValue(o.summary.median),
                    f"{formatValue(o.summary.low)}-{formatValue(o.summary.high)}",
                    row.unit + ("" if row.higherIsBetter else " (lower better)"),
                    formatRatio(result.ratios.get(o.impl)) if o.impl in result.ratios else "",
                ]
            else:
                reason = f"not available: {o.unavailable}" if o.unavailable else f"error: {o.error}"
                cells = [reason, "", "", ""]
            target = targetsByPeer.get(o.impl)
            cells.append(_targetText(target) if target else "")
            cells.append(_cpuText(result, o))
            lines.append([row.id, name, *cells])
    widths = [len(h) for h in HEADER]
    for cells in lines:
        for i, cell in enumerate(cells):
            # A long error message spills over the following (empty) columns.
            if not (i == 2 and not cells[3]):
                widths[i] = max(widths[i], len(cell))
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for cells in lines:
        if cells[2] and not cells[3]:
            text = "  ".join(c.ljust(w) for c, w in zip(cells[:2], widths[:2], strict=True))
            out.append(f"{text}  {cells[2]}".rstrip())
        else:
            out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return out


# Secondary figures shown in the last column: (extras key, format, higher is better).
CPU_VIEWS = (
    (SERVER_CPU, "{} us/op", False),  # TCP/UDP rows: the server's CPU per op
    ("ops_per_cpu_s", "{}/cpu-s", True),  # micro rows: ops per second of process CPU time
)


def _cpuText(result: RowResult, o: Outcome) -> str:
    """The CPU-time view of a result and, on peer lines, plait's ratio in that view."""
    plaitName = result.row.plaitName()
    plait = next((x for x in result.outcomes if x.impl == plaitName), None)
    for key, fmt, higherIsBetter in CPU_VIEWS:
        mine = _extraMedian(o, key)
        if mine is None:
            continue
        text = fmt.format(formatValue(mine))
        theirs = _extraMedian(plait, key) if plait and not o.impl.startswith("plait") else None
        if theirs:
            text += f" ({formatRatio(ratio(theirs, mine, higherIsBetter))})"
        return text
    return ""


def _extraMedian(o: Outcome, key: str) -> float | None:
    values = o.extras.get(key)
    return summarize(values).median if values and o.summary else None


def _targetText(target: dict[str, object]) -> str:
    minimum = target["minimum"]
    met = target["met"]
    verdict = "n/a" if met is None else ("met" if met else "NOT met")
    return f">= {minimum}x: {verdict}"


def legend(results: list[RowResult]) -> list[str]:
    width = max((len(r.row.id) for r in results), default=0)
    lines = []
    for r in results:
        note = f" ({r.row.note})" if r.row.note else ""
        lines.append(f"{r.row.id:<{width}}  {r.row.title}{note}")
    return lines


def toJson(results: list[RowResult], machine: dict[str, object], settings: dict[str, object]):
    rows = []
    for r in results:
        rows.append(
            {
                "id": r.row.id,
                "title": r.row.title,
                "unit": r.row.unit,
                "higher_is_better": r.row.higherIsBetter,
                "note": r.row.note,
                "results": [
                    {
                        "impl": o.impl,
                        "reference": o.reference,
                        "samples": o.samples,
                        "median": o.summary.median if o.summary else None,
                        "min": o.summary.low if o.summary else None,
                        "max": o.summary.high if o.summary else None,
                        "extras": o.extras,
                        "error": o.error,
                        "unavailable": o.unavailable,
                        "wall_seconds": round(o.seconds, 2),
                        "loadavg_before": round(o.loadBefore, 2),
                    }
                    for o in r.outcomes
                ],
                "ratios_plait_vs": r.ratios,
                "targets": r.targets,
            }
        )
    return {"machine": machine, "settings": settings, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="", help="regular expression on row ids (re.search)")
    parser.add_argument("--impls", default="", help="regular expression on implementation names")
    parser.add_argument("--repeat", type=int, default=0, help="samples per measurement (5)")
    parser.add_argument("--quick", action="store_true", help="3 samples, shorter durations")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--png", type=Path, default=RESULTS / "latest.png")
    parser.add_argument(
        "--batch",
        action="store_true",
        help="take all samples of an implementation in one subprocess instead of interleaving",
    )
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    parser.add_argument("--rebuild-venv", action="store_true")
    args = parser.parse_args()

    rows = [r for r in allRows() if re.search(args.rows, r.id)]
    if args.list:
        width = max(len(row.id) for row in rows) if rows else 0
        for row in rows:
            print(f"{row.id:<{width}}  {row.title}  [{', '.join(i.name for i in row.impls)}]")
        return 0
    if not rows:
        log(f"no row matches {args.rows!r}; try --list")
        return 2

    python = ensureVenv(args.rebuild_venv)
    pin, pinning = canPin()
    buildError = buildC() if any(r.needsC for r in rows) else None
    machine = machineInfo(python, pinning)
    log(f"{machine['cpu']}, {machine['cpus']} CPUs, Python {machine['python']}, {pinning}")

    results: list[RowResult] = []
    for row in rows:
        log(f"{row.id}: {row.title} ...")
        results.append(measureRow(row, python, args, pin, buildError))

    settings = {
        "repeat": args.repeat or (3 if args.quick else 5),
        "quick": args.quick,
        "interleaved": not args.batch,
        "rows": args.rows,
        "impls": args.impls,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
    print()
    print(f"plait benchmarks — {machine['date']} — {machine['cpu']} ({machine['cpus']} CPUs)")
    versions = machine.get("versions")
    print(f"Python {machine['python']}; peers: {versions}; {pinning}")
    load = max([machine["loadavg_at_start"]] + [o.loadBefore for r in results for o in r.outcomes])
    if load > 0.5:
        print(f"warning: the machine was busy (1-min load average up to {load:.2f}): noisy numbers")
    print("ratio = how many times better plait is (plait/peer; peer/plait where lower is better)")
    print(
        "CPU-time view (steadier on a busy machine): micro rows, ops per second of process CPU "
        "time; network rows, the server's user+sys CPU per MB, message or connection; (n.nnx) = "
        "plait's ratio in that view"
    )
    print()
    for line in legend(results):
        print(line)
    print()
    for line in tableLines(results):
        print(line)

    data = toJson(results, machine, settings)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1))
    print(f"\nJSON: {args.json}")
    done = subprocess.run(
        [str(python), str(BENCH_DIR / "plot.py"), str(args.json), str(args.png)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode == 0:
        print(f"PNG:  {args.png}")
    else:
        print(f"PNG:  error: {done.stderr.strip()[-300:]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
