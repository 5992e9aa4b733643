"""Time-driven tasks on any ``IReactorTime``: ``LoopingCall``, ``deferLater``, ``Cooperator``.

Nothing here reaches for a global reactor: ``LoopingCall.clock`` must be set, ``deferLater``
takes the clock as its first argument, and a ``Cooperator`` is made with a clock (or a
scheduler). Twisted's module-level ``cooperate``/``coiterate`` are deliberately absent (they
would need a global reactor): make a ``Cooperator(clock)`` and use its ``cooperate`` and
``coiterate`` methods. In tests, ``plait.testing.Clock`` is the clock.

Error tree
----------
::

    Exception
    +-- SchedulerError          a Cooperator/CooperativeTask operation not allowed now
        +-- SchedulerStopped    the Cooperator was stopped (tasks end with it)
        +-- NotPaused           resume() on a task that is not paused
        +-- TaskFinished        the task has ended (raised by pause()/stop() afterwards)
            +-- TaskDone        ... because its iterator was exhausted
            +-- TaskStopped     ... because stop() was called
            +-- TaskFailed      ... because its iterator raised (or a yielded Deferred failed)

``LoopingCall.start``/``stop``/``reset`` raise ``RuntimeError`` when called in the wrong
state or without a clock; an exception from the looped function fails the Deferred
``start`` returned (and stops the loop).
"""

from plait.task._cooperator import (
    CooperativeTask,
    Cooperator,
    NotPaused,
    SchedulerError,
    SchedulerStopped,
    TaskDone,
    TaskFailed,
    TaskFinished,
    TaskStopped,
)
from plait.task._later import deferLater
from plait.task._looping import LoopingCall

__all__ = [
    "CooperativeTask",
    "Cooperator",
    "LoopingCall",
    "NotPaused",
    "SchedulerError",
    "SchedulerStopped",
    "TaskDone",
    "TaskFailed",
    "TaskFinished",
    "TaskStopped",
    "deferLater",
]
