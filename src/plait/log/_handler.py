"""stdlib ``logging`` records in to plait."""

from __future__ import annotations

import logging

from ._failure import _CapturedFailure
from ._levels import LogLevel
from ._publisher import ILogObserver, LogEvent, globalLogPublisher
from ._stdlib import FROM_STDLIB_KEY, RECORD_EVENT_ATTRIBUTE


class PlaitLogHandler(logging.Handler):
    """A ``logging.Handler`` that publishes each stdlib record as a plait event.

    The event has ``log_namespace`` = the logger's name, the mapped ``log_level``,
    ``log_time`` = the record's ``created``, the rendered message as ``log_text`` (with
    ``log_format = "{log_text}"``, so the message is data, never a format), ``log_record`` = the
    record, a ``log_failure`` when the record has ``exc_info``, and ``log_from_stdlib = True``.

    Records that plait itself made (through :class:`~plait.log.STDLibLogObserver` or the global
    publisher's no-observer fallback) are ignored, so installing both bridges cannot loop; and
    :class:`~plait.log.STDLibLogObserver` ignores events marked ``log_from_stdlib``.
    """

    def __init__(self, publisher: ILogObserver | None = None, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.publisher = globalLogPublisher if publisher is None else publisher

    def emit(self, record: logging.LogRecord) -> None:
        """Publish ``record`` as an event (records that came from plait are dropped)."""
        if hasattr(record, RECORD_EVENT_ATTRIBUTE):
            return
        try:
            text = record.getMessage()
            event: LogEvent = {
                "log_format": "{log_text}",
                "log_text": text,
                "log_level": LogLevel.fromStdlib(record.levelno),
                "log_namespace": record.name,
                "log_source": None,
                "log_logger": None,
                "log_time": record.created,
                "log_record": record,
                FROM_STDLIB_KEY: True,
            }
            excInfo = record.exc_info
            if excInfo and excInfo[1] is not None:
                event["log_failure"] = _CapturedFailure(excInfo[1], excInfo[2])
            self.publisher(event)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:
            self.handleError(record)
