"""Log levels: an ordered enum whose values line up with the stdlib ``logging`` numbers."""

from __future__ import annotations

import enum


class InvalidLogLevelError(ValueError):
    """A name or value that is not one of the :class:`LogLevel` members."""

    def __init__(self, level: object) -> None:
        super().__init__(f"Invalid log level: {level!r}")
        self.level = level


class LogLevel(enum.IntEnum):
    """How important an event is, from ``debug`` (least) to ``critical`` (most).

    The members are ordered (``LogLevel.warn > LogLevel.info``) and their integer values are the
    stdlib ``logging`` numbers (``LogLevel.warn == logging.WARNING``), which is how the stdlib
    bridges map them.
    """

    debug = 10
    info = 20
    warn = 30
    error = 40
    critical = 50

    @classmethod
    def levelWithName(cls, name: str) -> LogLevel:
        """Return the level called ``name`` (``"debug"`` ... ``"critical"``).

        Raises :class:`InvalidLogLevelError` for any other name.
        """
        try:
            return cls[name]
        except (KeyError, TypeError):
            raise InvalidLogLevelError(name) from None

    @classmethod
    def fromStdlib(cls, levelno: int) -> LogLevel:
        """Return the level for a stdlib ``logging`` level number (rounded down, at least debug)."""
        if levelno >= 50:
            return cls.critical
        if levelno >= 40:
            return cls.error
        if levelno >= 30:
            return cls.warn
        if levelno >= 20:
            return cls.info
        return cls.debug
