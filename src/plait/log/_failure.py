"""What ``log_failure`` holds: any object with ``getTraceback()``; plait.log's own captures."""

from __future__ import annotations

import sys
import traceback
from types import TracebackType
from typing import Protocol, runtime_checkable


@runtime_checkable
class FailureLike(Protocol):
    """The part of a ``Failure`` that logging uses.

    ``plait.defer.Failure`` satisfies it; so does the private capture :meth:`Logger.failure`
    makes when it is given no failure. Observers that only render text need just
    ``getTraceback()``; ``value``/``type`` let the stdlib bridge pass ``exc_info`` along.
    """

    @property
    def value(self) -> object:
        """The exception instance (``None`` when it is no longer available)."""

    @property
    def type(self) -> object:
        """The exception class (its qualified name after a JSON round trip)."""

    def getTraceback(self) -> str:
        """The traceback as text, ending with the exception's type and message."""
        ...


class NoCurrentExceptionError(RuntimeError):
    """``Logger.failure()`` was called without a failure and outside any ``except`` block."""

    def __init__(self) -> None:
        super().__init__("Logger.failure() needs a failure or an exception being handled")


class _CapturedFailure:
    """A minimal Failure: the exception being handled, its traceback formatted on demand."""

    __slots__ = ("_text", "tb", "type", "value")

    def __init__(
        self,
        value: BaseException,
        tb: TracebackType | None = None,
    ) -> None:
        self.value = value
        self.type: type[BaseException] = type(value)
        self.tb = tb if tb is not None else value.__traceback__
        self._text: str | None = None

    @classmethod
    def fromCurrentException(cls) -> _CapturedFailure:
        """Capture the exception being handled now (raise if there is none)."""
        value = sys.exception()
        if value is None:
            raise NoCurrentExceptionError()
        return cls(value, value.__traceback__)

    def getTraceback(self) -> str:
        """The traceback (with chained causes) as text, formatted once and cached."""
        if self._text is None:
            self._text = "".join(traceback.format_exception(self.type, self.value, self.tb))
        return self._text

    def getErrorMessage(self) -> str:
        """The exception's message, or its class name when the message is empty."""
        return str(self.value) or self.type.__name__

    def __repr__(self) -> str:
        return f"<_CapturedFailure {self.type.__qualname__}: {self.getErrorMessage()}>"


class _RestoredFailure:
    """A failure read back from JSON: its type name, message and traceback text only."""

    __slots__ = ("message", "traceback", "type", "value")

    def __init__(self, typeName: str, message: str, traceback: str) -> None:
        self.type = typeName
        self.message = message
        self.traceback = traceback
        self.value = None

    def getTraceback(self) -> str:
        """The traceback text as it was written."""
        return self.traceback

    def getErrorMessage(self) -> str:
        """The exception's message as it was written."""
        return self.message

    def __repr__(self) -> str:
        return f"<_RestoredFailure {self.type}: {self.message}>"
