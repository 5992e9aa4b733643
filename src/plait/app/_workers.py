"""``plait --workers N``: one master process, N workers serving the same listening sockets.

The master binds every port (``privilegedStartService`` of the service tree, never running a
reactor), then starts each worker as a fresh ``python -m plait.app._cli`` process with the
listening descriptors inherited (``PLAIT_WORKER_FDS``). A worker builds the same service tree
from the same command line and its ``StreamServerEndpointService``s adopt those descriptors in
tree order instead of binding.

Why the master binds rather than each worker binding with ``SO_REUSEPORT``: one socket shared by
all workers keeps a single accept queue, so a worker that dies loses no queued connections (with
``SO_REUSEPORT`` each worker has its own queue and connections waiting in a dead worker's are
reset); ``tcp:0`` gives every worker the same port; Unix sockets and ports below 1024 work
(bound once, as root); and it does not depend on the OS balancing ``SO_REUSEPORT``. Workers are
fresh processes (not plain forks), so no reactor state (an epoll set) is shared.

The master restarts a worker that dies, waiting ``min(0.1 * 2**n, 10)`` seconds after ``n``
quick deaths in a row (a worker that lived 10 s resets ``n``). SIGTERM/SIGINT to the master
send SIGTERM to every worker, wait for them (SIGKILL after the shutdown timeout), and exit 0;
SIGHUP is passed on (log files are reopened everywhere).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from plait.log import Logger

from ._service import StreamServerEndpointService

__all__ = ["ENVIRONMENT_VARIABLE", "adoptInheritedSockets", "superviseWorkers"]

ENVIRONMENT_VARIABLE = "PLAIT_WORKER_FDS"

_log = Logger(namespace="plait.app.workers")


def streamServices(service: Any) -> Iterator[StreamServerEndpointService]:
    """Every ``StreamServerEndpointService`` in a service tree, depth first in order."""
    if isinstance(service, StreamServerEndpointService):
        yield service
    for child in getattr(service, "services", ()):
        yield from streamServices(child)


def adoptInheritedSockets(reactor: Any, service: Any, value: str) -> None:
    """In a worker: point each stream service at the inherited descriptor in ``value``."""
    from plait.endpoints import AdoptedStreamServerEndpoint

    fds = [int(x) for x in value.split(",") if x]
    services = list(streamServices(service))
    if len(fds) != len(services):
        raise RuntimeError(f"worker got {len(fds)} sockets for {len(services)} listening services")
    for svc, fd in zip(services, fds, strict=True):
        with socket.socket(fileno=os.dup(fd)) as probe:
            family = socket.AddressFamily(probe.family)
        svc.endpoint = AdoptedStreamServerEndpoint(reactor, fd, family)


def _listeningDescriptors(service: Any) -> list[int]:
    fds = []
    for svc in streamServices(service):
        if svc.port is None:
            svc.whenListening().addErrback(lambda f: None)
            raise RuntimeError(f"{svc.endpoint!r} is not listening")
        fds.append(svc.port.fileno())
    return fds


def superviseWorkers(
    service: Any,
    count: int,
    workerArgv: Sequence[str],
    shutdownTimeout: float,
    onHangup: Callable[[], None] | None = None,
) -> int:
    """Run ``count`` workers over ``service``'s bound sockets until SIGTERM/SIGINT; exit status.

    SIGHUP calls ``onHangup`` (the master reopens its log file) and is passed on to every
    worker (they reopen theirs)."""
    fds = _listeningDescriptors(service)
    env = dict(os.environ, **{ENVIRONMENT_VARIABLE: ",".join(map(str, fds))})
    argv = [sys.executable, "-m", "plait.app._cli", *workerArgv]
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    hangups = 0

    def hangup(signum: int, frame: Any) -> None:
        nonlocal hangups
        hangups += 1

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, hangup)

    def spawn(slot: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(argv, env=env, pass_fds=fds)
        _log.info("worker {slot} started (pid {pid})", slot=slot, pid=process.pid)
        return process

    workers = [spawn(i) for i in range(count)]
    started = [time.monotonic()] * count
    deaths = [0] * count
    restartAt: dict[int, float] = {}
    while not stopping:
        time.sleep(0.05)
        if hangups:
            hangups = 0
            if onHangup is not None:
                onHangup()
            for process in workers:
                if process.poll() is None:
                    process.send_signal(signal.SIGHUP)
        now = time.monotonic()
        for slot, process in enumerate(workers):
            if slot in restartAt:
                if now >= restartAt[slot]:
                    del restartAt[slot]
                    workers[slot] = spawn(slot)
                    started[slot] = now
                continue
            code = process.poll()
            if code is None:
                continue
            deaths[slot] = 0 if now - started[slot] > 10 else deaths[slot] + 1
            delay = min(0.1 * 2 ** deaths[slot], 10.0)
            _log.warn(
                "worker {slot} (pid {pid}) exited with {code}; restarting in {delay:.1f}s",
                slot=slot,
                pid=process.pid,
                code=code,
                delay=delay,
            )
            restartAt[slot] = now + delay
    _log.info("stopping {count} workers", count=count)
    for slot, process in enumerate(workers):
        if slot not in restartAt and process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + shutdownTimeout + 1
    for slot, process in enumerate(workers):
        if slot in restartAt:
            continue
        try:
            process.wait(max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for svc in streamServices(service):
        if svc.port is not None:
            svc.port.stopListening()
    return 0
