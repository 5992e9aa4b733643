"""``react``: run a ``main(reactor, *argv)`` to completion on a reactor, then exit."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NoReturn

from plait.defer import Deferred, Failure, ensureDeferred, succeed
from plait.log import Logger

from ._default import getDefaultReactor

__all__ = ["react"]

_log = Logger(namespace="plait.app.react")


def _resultOf(main: Callable[..., Any], reactor: Any, argv: Sequence[str]) -> Deferred[Any]:
    """What ``main`` gives back as a Deferred: a Deferred, a coroutine run to its end, or a value.

    An exception from ``main`` itself (``SystemExit`` included) fails the Deferred.
    """
    try:
        result = main(reactor, *argv)
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt | GeneratorExit):
            raise
        d: Deferred[Any] = Deferred()
        d.errback(Failure())
        return d
    if isinstance(result, Deferred):
        return result
    if isinstance(result, Coroutine):
        return ensureDeferred(result)
    return succeed(result)


def react(
    main: Callable[..., Deferred[Any] | Coroutine[Any, Any, Any] | Any],
    argv: Sequence[str] = (),
    _reactor: Any = None,
) -> NoReturn:
    """Call ``main(reactor, *argv)``, run the reactor until its result is ready, then exit.

    ``main`` may return a Deferred, a coroutine (run with ``ensureDeferred``) or a plain value.
    When it succeeds the process exits with status 0; when it fails the traceback is logged and
    the status is 1; a ``SystemExit`` from ``main`` exits with its own code. If the reactor is
    stopped first (a signal, ``reactor.stop()``), the status is 0. Uses the default reactor
    (``plait.app.getDefaultReactor()``) unless ``_reactor`` is given (for tests).

    Raises ``SystemExit`` always; it never returns.
    """
    reactor = getDefaultReactor() if _reactor is None else _reactor
    exitCode: list[Any] = [0]
    stopping = [False]

    def onShutdown() -> None:
        stopping[0] = True

    reactor.addSystemEventTrigger("before", "shutdown", onShutdown)

    def finished(result: object) -> None:
        if isinstance(result, Failure):
            if isinstance(result.value, SystemExit):
                exitCode[0] = result.value.code
            else:
                _log.failure("main function {main!r} failed", result, main=main)
                exitCode[0] = 1
        if not stopping[0]:
            stopping[0] = True
            reactor.callWhenRunning(reactor.stop)

    _resultOf(main, reactor, argv).addBoth(finished)
    reactor.run()
    sys.exit(exitCode[0])
