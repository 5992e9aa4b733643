"""The ``plait`` command: run a service in the foreground (or as a daemon, or as N workers).

Usage: ``plait [global options] SUBCOMMAND [options]``; ``plait --help`` lists the
subcommands. Exit status 0 after a clean stop (SIGTERM/SIGINT), 1 when the program cannot start
(one line on stderr says why), 2 for usage errors.

Global options: ``--reactor NAME``, ``--log-format text|json``, ``--log-file PATH`` (default
stdout; SIGHUP reopens it, for log rotation), ``--log-level``, ``--pidfile PATH``, ``--daemon``,
``--uid``/``--gid`` (root only; ports bind first), ``--workers N`` (see ``plait.app._workers``),
``--shutdown-timeout SECONDS`` (how long stopping services may take before the reactor stops
anyway and drops what is left).

Subcommands are objects found through the entry-point group ``plait.plugins``: each entry point
is named after its subcommand and names an object with

- ``name: str`` and ``description: str`` (one line, shown by ``plait --help``),
- ``addArguments(parser: argparse.ArgumentParser) -> None`` (its options),
- ``makeService(reactor, options: argparse.Namespace) -> IService`` (what to run; raise
  ``ValueError``/``OSError`` with a clear message for bad input: it becomes status 1),
- or instead, for a one-shot command (``plait keygen``), ``run(options) -> int``: called
  without a reactor, services, logging or pid file; its result is the exit status.

The module an entry point names is imported for ``--help``, so it must import nothing heavy at
its top level: import the implementation inside ``makeService``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

TYPE_CHECKING = False  # importing typing costs ~10 ms of `plait --help`; mypy reads the block

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import IO, Any

__all__ = ["ENTRY_POINT_GROUP", "main"]

ENTRY_POINT_GROUP = "plait.plugins"

# Built-ins; installed plugins with the same name win (so a distribution can replace one).
_BUILTINS = {"echo": "plait.app._commands:echoCommand", "run": "plait.app._commands:runCommand"}
_LEVELS = ("debug", "info", "warn", "error", "critical")


def _load(spec: str) -> Any:
    import importlib

    module, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _entryPointFiles() -> list[str]:
    """``entry_points.txt`` of every distribution on ``sys.path`` (first one of a name wins)."""
    files: list[str] = []
    seen: set[str] = set()
    for directory in sys.path:
        try:
            names = sorted(os.listdir(directory or "."))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            project = name.rpartition(".")[0].split("-")[0].lower().replace("_", "-")
            path = os.path.join(directory or ".", name, "entry_points.txt")
            if project not in seen and os.path.exists(path):
                seen.add(project)
                files.append(path)
    return files


def _pluginsIn(path: str) -> dict[str, str]:
    """The ``plait.plugins`` entries of one ``entry_points.txt`` (an INI file)."""
    found: dict[str, str] = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]").strip()
            elif section == ENTRY_POINT_GROUP and "=" in line:
                name, _, value = line.partition("=")
                found[name.strip()] = value.split("[")[0].strip()
    return found


def subcommands() -> dict[str, str]:
    """Subcommand name -> ``module:attribute`` of its object (built-ins and plugins).

    Reads the installed distributions' ``entry_points.txt`` directly: importing
    ``importlib.metadata`` would cost more than the rest of ``plait --help``.
    """
    found = dict(_BUILTINS)
    for path in _entryPointFiles():
        try:
            found.update(_pluginsIn(path))
        except (OSError, UnicodeDecodeError):
            continue
    return dict(sorted(found.items()))


def _parser(commands: dict[str, str]) -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(
        prog="plait",
        description="Run a plait service in the foreground (SIGTERM/SIGINT stop it).",
    )
    parser.add_argument("--reactor", metavar="NAME", help="reactor backend (epoll, poll, ...)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument("--log-file", metavar="PATH", help="log here (default: stdout)")
    parser.add_argument("--log-level", choices=_LEVELS, default="info")
    parser.add_argument("--pidfile", metavar="PATH", help="write the process id here")
    parser.add_argument("--daemon", action="store_true", help="detach (double fork)")
    parser.add_argument("--uid", type=int, help="switch to this user after binding (root only)")
    parser.add_argument("--gid", type=int, help="switch to this group after binding (root only)")
    parser.add_argument("--workers", type=int, default=0, metavar="N", help="N worker processes")
    parser.add_argument(
        "--shutdown-timeout", type=float, default=10.0, metavar="SECONDS", help="stop deadline"
    )
    sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    return parser, sub


def _describe(spec: str) -> str:
    try:
        return str(_load(spec).description)
    except Exception as e:
        return f"(cannot load {spec}: {e})"


class _ReopenableFile:
    """The log file, reopened on SIGHUP (so logrotate can move it away)."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def write(self, text: str) -> int:
        return self.file.write(text)

    def flush(self) -> None:
        self.file.flush()

    def reopen(self) -> None:
        old, self.file = self.file, open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        old.close()


def _startLogging(options: argparse.Namespace) -> tuple[Any, _ReopenableFile | None]:
    from plait.log import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogPublisher,
        jsonFileLogObserver,
        textFileLogObserver,
    )

    try:
        logFile = _ReopenableFile(options.log_file) if options.log_file else None
    except OSError as e:
        raise SystemExit(_fail(f"cannot open log file: {e}")) from None
    out: Any = logFile if logFile is not None else sys.stdout
    inner = jsonFileLogObserver(out) if options.log_format == "json" else textFileLogObserver(out)
    predicate = LogLevelFilterPredicate(LogLevel.levelWithName(options.log_level))
    observer = FilteringLogObserver(inner, [predicate])
    globalLogPublisher.addObserver(observer)
    return observer, logFile


# Set in a daemon: tells the original process how startup went (see ``daemonize``).
_ready: Callable[[int, str], None] | None = None


def _fail(message: str) -> int:
    line = f"plait: error: {message}\n"
    sys.stderr.write(line)
    sys.stderr.flush()
    _report(1, line)
    return 1


def _report(status: int, message: str = "") -> None:
    global _ready
    ready, _ready = _ready, None
    if ready is not None:
        ready(status, message)


def _workerArgv(argv: Sequence[str]) -> list[str]:
    """The command line for a worker: without ``--workers``, ``--daemon`` and ``--pidfile``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--workers", "--pidfile"):
            skip = True
        elif arg == "--daemon" or arg.startswith(("--workers=", "--pidfile=")):
            continue
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``plait`` command with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = subcommands()
    parser, sub = _parser(commands)
    # Find the chosen subcommand without importing the others: only it needs its options.
    probe = argparse.ArgumentParser(add_help=False)
    probe.add_argument("rest", nargs=argparse.REMAINDER)
    chosen = next((a for a in argv if a in commands), None)
    command: Any = None
    for name, spec in commands.items():
        if name == chosen:
            try:
                command = _load(spec)
            except Exception as e:
                return _fail(f"cannot load subcommand {name!r} ({spec}): {e}")
            p = sub.add_parser(name, help=command.description, description=command.description)
            command.addArguments(p)
        else:
            help = _describe(spec) if "-h" in argv or "--help" in argv else name
            sub.add_parser(name, help=help, add_help=False)
    options = parser.parse_args(argv)
    if options.workers < 0:
        parser.error("--workers must be 0 or more")
    if callable(getattr(command, "run", None)):
        return int(command.run(options))

    from plait import reactor as reactors

    if options.reactor is not None and options.reactor not in reactors.reactorNames():
        parser.error(
            f"--reactor {options.reactor!r}: choose one of {', '.join(reactors.reactorNames())}"
        )
    return _serve(command, options, argv)


def _serve(command: Any, options: argparse.Namespace, argv: Sequence[str]) -> int:
    from plait import reactor as reactors
    from plait.log import Logger

    from ._daemon import daemonize, switchUser
    from ._default import installReactor
    from ._pidfile import AlreadyRunningError, PIDFile

    log = Logger(namespace="plait.app.cli")
    pidfile = PIDFile(options.pidfile) if options.pidfile else None
    try:
        if pidfile is not None:
            pidfile.check()
    except AlreadyRunningError as e:
        return _fail(str(e))
    if options.log_file:
        options.log_file = os.path.abspath(options.log_file)  # the daemon works in /
    if options.daemon:
        global _ready
        _ready = daemonize()
    if pidfile is not None:
        try:
            pidfile.write()
        except (AlreadyRunningError, OSError) as e:
            return _fail(str(e))
    try:
        return _run(command, options, argv, reactors, log, installReactor, switchUser)
    finally:
        if pidfile is not None:
            pidfile.remove()


def _run(
    command: Any,
    options: argparse.Namespace,
    argv: Sequence[str],
    reactors: Any,
    log: Any,
    installReactor: Any,
    switchUser: Any,
) -> int:
    from plait.defer import Deferred, DeferredList, maybeDeferred

    from ._workers import ENVIRONMENT_VARIABLE, adoptInheritedSockets, superviseWorkers

    _observer, logFile = _startLogging(options)
    try:
        cls = (
            reactors.reactorClassNamed(options.reactor)
            if options.reactor
            else reactors.defaultReactorClass()
        )
        reactor = cls()
    except (ValueError, NotImplementedError, OSError) as e:
        return _fail(f"cannot create reactor {options.reactor!r}: {e}")
    installReactor(reactor)

    # Until run() installs the reactor's own handlers, a stop request waits in the queue.
    def earlyStop(signum: int, frame: Any) -> None:
        reactor.callFromThread(reactor.stop)

    if not options.workers:
        signal.signal(signal.SIGTERM, earlyStop)
        signal.signal(signal.SIGINT, earlyStop)
    try:
        service = command.makeService(reactor, options)
        inherited = os.environ.pop(ENVIRONMENT_VARIABLE, None)
        if inherited is not None:
            adoptInheritedSockets(reactor, service, inherited)
        service.privilegedStartService()
        if options.workers:
            for stream in _streams(service):
                stream.startService()  # raises if listening failed
            switchUser(options.uid, options.gid)
            _report(0)
            return superviseWorkers(
                service,
                options.workers,
                _workerArgv(argv),
                options.shutdown_timeout,
                logFile.reopen if logFile is not None else None,
            )
        switchUser(options.uid, options.gid)
        service.startService()
    except Exception as e:
        return _fail(f"cannot start {options.subcommand}: {e}")
    _report(0)

    def stopServices() -> Any:
        # Stop (listening ends), then let open connections finish until the deadline; the
        # reactor drops whatever is still open after that.
        log.info("stopping")
        streams = list(_streams(service))
        finished: Deferred[None] = Deferred()

        def finish(timedOut: bool) -> None:
            if finished.called:
                return
            if timedOut:
                left = sum(len(s.connections) for s in streams)
                log.warn(
                    "shutdown timeout ({seconds}s); dropping {left} open connections",
                    seconds=options.shutdown_timeout,
                    left=left,
                )
            elif timer.active():
                timer.cancel()
            finished.callback(None)

        def drain(_: object) -> Any:
            return DeferredList([s.whenDrained() for s in streams])

        def stopFailed(failure: Any) -> None:
            log.failure("services did not stop cleanly", failure)

        timer = reactor.callLater(options.shutdown_timeout, finish, True)
        work = maybeDeferred(service.stopService).addCallback(drain)
        work.addErrback(stopFailed).addCallback(lambda _: finish(False))
        return finished

    def reopenLogs() -> None:
        if logFile is not None:
            logFile.reopen()
        log.info("log file reopened")

    def installHUP() -> None:
        signal.signal(signal.SIGHUP, lambda s, f: reactor.callFromThread(reopenLogs))

    reactor.addSystemEventTrigger("before", "shutdown", stopServices)
    reactor.callWhenRunning(installHUP)
    reactor.callWhenRunning(
        log.info, "plait {name} running (pid {pid})", name=options.subcommand, pid=os.getpid()
    )
    reactor.run()
    return 0


def _streams(service: Any) -> Any:
    from ._workers import streamServices

    return streamServices(service)


if __name__ == "__main__":
    sys.exit(main())
