"""``Failure``: an exception together with its traceback, passed down errback chains."""

from __future__ import annotations

import builtins
import sys
import traceback
from types import TracebackType
from typing import IO, Any, NoReturn

from ._errors import NoCurrentExceptionError


def _qualifiedName(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class Failure:
    """An exception and its traceback, as a value.

    ``Failure()`` with no arguments wraps the exception being handled (``except`` block) and
    raises :class:`NoCurrentExceptionError` outside one. ``Failure(exc)`` wraps ``exc`` with
    its ``__traceback__``; ``exc_type`` and ``exc_tb`` override the type and traceback.
    ``Failure(SomeError)`` instantiates the class; anything else that is not an exception is a
    ``TypeError``.

    The traceback object is kept (not pre-rendered), so re-raising the failure into a
    generator or coroutine (as ``inlineCallbacks``/``ensureDeferred`` do) extends the same
    traceback with the frames it passes through, and :meth:`getTraceback` shows them all.
    :meth:`cleanFailure` renders the frames to text and drops them (and their locals).
    """

    __slots__ = ("_stack", "tb", "type", "value")

    value: BaseException
    type: builtins.type[BaseException]
    tb: TracebackType | None

    def __init__(
        self,
        exc_value: BaseException | builtins.type[BaseException] | None = None,
        exc_type: builtins.type[BaseException] | None = None,
        exc_tb: TracebackType | None = None,
        captureVars: bool = False,
    ) -> None:
        # captureVars is accepted for Twisted compatibility: the frames (with their locals)
        # are kept anyway until cleanFailure().
        self._stack: traceback.StackSummary | None = None
        if exc_value is None:
            current = sys.exception()
            if current is None:
                raise NoCurrentExceptionError(
                    "Failure() with no exception must be created while handling one"
                )
            self.value = current
            self.type = exc_type if exc_type is not None else current.__class__
            self.tb = exc_tb if exc_tb is not None else current.__traceback__
            return
        given: object = exc_value
        if isinstance(given, builtins.type) and issubclass(given, BaseException):
            given = given()
        if not isinstance(given, BaseException):
            raise TypeError(f"Failure needs an exception, not {exc_value!r}")
        exc_value = given
        self.value = exc_value
        self.type = exc_type if exc_type is not None else exc_value.__class__
        self.tb = exc_tb if exc_tb is not None else exc_value.__traceback__

    def check(
        self, *errorTypes: builtins.type[BaseException] | str
    ) -> builtins.type[BaseException] | str | None:
        """Return the first of ``errorTypes`` that this failure's exception is an instance of.

        Types may also be given as fully qualified names (``"builtins.ValueError"``).
        Returns ``None`` when none matches.
        """
        mro = self.type.__mro__
        for error in errorTypes:
            if isinstance(error, str):
                for cls in mro:
                    if _qualifiedName(cls) == error:
                        return error
            elif error in mro:
                return error
        return None

    def trap(self, *errorTypes: builtins.type[BaseException] | str) -> Any:
        """Return the matching type like :meth:`check`, or re-raise the original exception.

        The usual first line of an errback that handles only some errors::

            def onError(failure):
                failure.trap(ConnectionLost)
                ...
        """
        error = self.check(*errorTypes)
        if error is None:
            self.raiseException()
        return error

    def raiseException(self) -> NoReturn:
        """Raise the wrapped exception with its original traceback."""
        raise self.value.with_traceback(self.tb)

    def throwExceptionIntoGenerator(self, g: Any) -> Any:
        """Throw the wrapped exception (with its traceback) into generator or coroutine ``g``."""
        return g.throw(self.value.with_traceback(self.tb))

    def getErrorMessage(self) -> str:
        """The exception's message (``str(value)``)."""
        try:
            return str(self.value)
        except Exception:
            return f"<unprintable {self.type.__name__} object>"

    def getTraceback(self, elideFrameworkCode: int = 0, detail: str = "default") -> str:
        """The traceback as text, with chained causes, ending with the type and message.

        ``elideFrameworkCode`` and ``detail`` are accepted for compatibility; ``detail="brief"``
        returns only the last line.
        """
        if detail == "brief":
            return "".join(traceback.format_exception_only(self.type, self.value))
        if self._stack is not None:
            lines = ["Traceback (most recent call last):\n"]
            lines.extend(self._stack.format())
            lines.extend(traceback.format_exception_only(self.type, self.value))
            return "".join(lines)
        return "".join(traceback.format_exception(self.type, self.value, self.tb))

    def getBriefTraceback(self) -> str:
        """Just the exception's type and message."""
        return self.getTraceback(detail="brief")

    def printTraceback(
        self, file: IO[str] | None = None, elideFrameworkCode: int = 0, detail: str = "default"
    ) -> None:
        """Write :meth:`getTraceback` to ``file`` (``sys.stderr`` by default)."""
        (file if file is not None else sys.stderr).write(
            self.getTraceback(elideFrameworkCode, detail)
        )

    def getTracebackObject(self) -> TracebackType | None:
        """The traceback object (``None`` after :meth:`cleanFailure`)."""
        return self.tb

    def cleanFailure(self) -> None:
        """Render the frames to text and drop them, so no frame (or its locals) stays alive.

        Afterwards :meth:`getTraceback` still names every frame, but ``tb`` is ``None`` and
        re-raising starts a fresh traceback.
        """
        if self.tb is None:
            return
        self._stack = traceback.StackSummary.extract(traceback.walk_tb(self.tb))
        self.tb = None
        self.value.__traceback__ = None

    @property
    def parents(self) -> list[str]:
        """Fully qualified names of the exception's class and its bases."""
        return [_qualifiedName(cls) for cls in self.type.__mro__]

    def __repr__(self) -> str:
        return f"<plait.defer.Failure {_qualifiedName(self.type)}: {self.getErrorMessage()}>"

    def __str__(self) -> str:
        return f"[Failure instance: {self.getTraceback()}]"


def _failureFromCaught(exc: BaseException) -> Failure:
    """A Failure for ``exc`` just caught by plait's own loop: drop that loop's frame.

    The first traceback entry is the frame that caught the exception (the callback runner or a
    coroutine driver); it says nothing to the reader and would keep the runner's locals alive.
    """
    tb = exc.__traceback__
    if tb is not None:
        tb = tb.tb_next
        exc.__traceback__ = tb
    f = Failure.__new__(Failure)
    f.value = exc
    f.type = exc.__class__
    f.tb = tb
    f._stack = None
    return f
