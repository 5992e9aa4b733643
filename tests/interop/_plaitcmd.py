"""Run a ``plait`` subcommand as a child process and learn the port it listens on."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LISTENING = re.compile(r"Listening on [^\s]*:(\d+)")


@contextmanager
def plaitCommand(*args: str, timeout: float = 20.0) -> Iterator[tuple[int, list[str]]]:
    """Start ``plait ARGS``; yield (listening port, the log lines so far and to come)."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from plait.app._cli import main; sys.exit(main())",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ports: queue.Queue[int | None] = queue.Queue()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            match = LISTENING.search(line)
            if match:
                ports.put(int(match.group(1)))
        ports.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        port = ports.get(timeout=timeout)
        if port is None:
            raise RuntimeError("plait exited before listening:\n" + "".join(lines))
        yield port, lines
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        reader.join(timeout=5)
        if child.stdout is not None:
            child.stdout.close()
