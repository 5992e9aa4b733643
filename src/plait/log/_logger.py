"""``Logger``: the object code logs through."""

from __future__ import annotations

import sys
from time import time
from typing import Any, Self

from ._failure import FailureLike, _CapturedFailure
from ._levels import LogLevel
from ._publisher import ILogObserver, globalLogPublisher

_debug = LogLevel.debug
_info = LogLevel.info
_warn = LogLevel.warn
_error = LogLevel.error
_critical = LogLevel.critical


class Logger:
    """Emits events, in a namespace, to an observer (``globalLogPublisher`` by default).

    ``log.info("Got {n} bytes from {peer.host}", n=n, peer=peer)`` builds the event
    ``{"log_format": ..., "n": n, "peer": peer, "log_level": LogLevel.info, ...}`` and hands
    it to the observer; the text is only produced if an observer formats it (see
    :func:`~plait.log.formatEvent`). The format must be a literal from the code: untrusted text
    goes in the keyword arguments.

    ``namespace`` defaults to the calling module's ``__name__``. As a class attribute
    (``log = Logger()`` in a class body), reading ``self.log`` gives a logger whose
    ``log_source`` is the instance (``Cls.log``: the class) and whose namespace defaults to
    ``"<module>.<qualname>"`` of the class.
    """

    __slots__ = ("_explicitNamespace", "namespace", "observer", "source")

    namespace: str
    source: object
    observer: ILogObserver

    def __init__(
        self,
        namespace: str | None = None,
        source: object = None,
        observer: ILogObserver | None = None,
    ) -> None:
        self._explicitNamespace = namespace is not None
        if namespace is None:
            try:
                namespace = sys._getframe(1).f_globals.get("__name__") or "<unknown>"
            except ValueError:
                namespace = "<unknown>"
        self.namespace = namespace
        self.source = source
        self.observer = globalLogPublisher if observer is None else observer

    def __get__(self, instance: object, owner: type | None = None) -> Self:
        if owner is None:
            owner = type(instance)
        bound = object.__new__(type(self))
        bound._explicitNamespace = True
        if self._explicitNamespace:
            bound.namespace = self.namespace
        else:
            bound.namespace = f"{owner.__module__}.{owner.__qualname__}"
        bound.source = owner if instance is None else instance
        bound.observer = self.observer
        return bound

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.namespace!r}>"

    def _publish(self, level: LogLevel, format: str | None, event: dict[str, Any]) -> None:
        # The keyword-argument dict is the event: no copy is made.
        event["log_logger"] = self
        event["log_level"] = level
        event["log_namespace"] = self.namespace
        event["log_source"] = self.source
        event["log_format"] = format
        event["log_time"] = time()
        self.observer(event)

    def emit(self, level: LogLevel, format: str | None = None, **kwargs: Any) -> None:
        """Emit an event at ``level`` with ``format`` and the keyword arguments as fields.

        A ``level`` that is not a :class:`LogLevel` is reported as an error event instead.
        """
        if level.__class__ is not LogLevel:
            self._publish(
                _error,
                "Got invalid log level {invalidLevel!r}.",
                {"invalidLevel": level, "invalidFormat": format, "invalidEvent": kwargs},
            )
            return
        self._publish(level, format, kwargs)

    def debug(self, format: str | None = None, **event: Any) -> None:
        """Emit a debug event: detail for whoever is chasing a problem."""
        # Inlined (not self._publish) on purpose: this is the hot path.
        event["log_logger"] = self
        event["log_level"] = _debug
        event["log_namespace"] = self.namespace
        event["log_source"] = self.source
        event["log_format"] = format
        event["log_time"] = time()
        self.observer(event)

    def info(self, format: str | None = None, **event: Any) -> None:
        """Emit an info event: something normal worth knowing about."""
        event["log_logger"] = self
        event["log_level"] = _info
        event["log_namespace"] = self.namespace
        event["log_source"] = self.source
        event["log_format"] = format
        event["log_time"] = time()
        self.observer(event)

    def warn(self, format: str | None = None, **event: Any) -> None:
        """Emit a warn event: something odd that the program copes with."""
        event["log_logger"] = self
        event["log_level"] = _warn
        event["log_namespace"] = self.namespace
        event["log_source"] = self.source
        event["log_format"] = format
        event["log_time"] = time()
        self.observer(event)

    def error(self, format: str | None = None, **event: Any) -> None:
        """Emit an error event: something failed and the program did not cope fully."""
        event["log_logger"] = self
        event["log_level"] = _error
        event["log_namespace"] = self.namespace
        event["log_source"] = self.source
        event["log_format"] = format
        event["log_time"] = time()
        self.observer(event)

    def critical(self, format: str | None = None, **event: Any) -> None:
        """Emit a critical event: the program cannot go on as it should."""
        event["log_logger"] = self
        event["log_level"] = _critical
        event["log_namespace"] = self.namespace
        event["log_source"] = self.source
        event["log_format"] = format
        event["log_time"] = time()
        self.observer(event)

    def failure(
        self,
        format: str,
        failure: FailureLike | None = None,
        level: LogLevel = LogLevel.critical,
        **kwargs: Any,
    ) -> None:
        """Emit an event carrying a failure (``log_failure``), critical by default.

        With ``failure=None`` the exception being handled is captured, so this is meant for
        ``except`` blocks::

            try:
                handle(request)
            except Exception:
                log.failure("While handling {request!r}", request=request)

        Outside an ``except`` block, with no failure, raises
        :class:`~plait.log.NoCurrentExceptionError`.
        """
        if failure is None:
            failure = _CapturedFailure.fromCurrentException()
        kwargs["log_failure"] = failure
        if level.__class__ is not LogLevel:
            self.emit(level, format, **kwargs)
            return
        self._publish(level, format, kwargs)
