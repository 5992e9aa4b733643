"""Line editing for raw-mode terminals (SSH sessions with a PTY, Telnet with ECHO+SGA).

- ``KeyParser``: raw bytes to text and ``Key``s (arrows, Home/End, Delete, Ctrl-A/E/B/F/K/U/W/
  Y/L/C/D/N/P, ``ESC b``/``ESC f``, CR LF as one Enter, UTF-8 split anywhere).
- ``LineEditor``: sans-IO editor with history and wrapping at the terminal's width
  (``receiveData``, ``nextEvent`` -> ``LineEntered``/``InputInterrupted``/``EndOfInput``,
  ``dataToSend``, ``showPrompt``, ``writeOutput``, ``setWidth``).
- ``LineEditingProtocol``: a Protocol running a ``LineEditor`` (``lineReceived``,
  ``interruptReceived``, ``endOfInputReceived``, ``terminalSize``, ``telnet_NAWS``).

Errors: none of its own; bounds (line length, history, type-ahead) ring the bell or drop.
"""

from plait.protocols._lineedit import (
    EndOfInput,
    InputInterrupted,
    Key,
    KeyParser,
    LineEditingProtocol,
    LineEditor,
    LineEntered,
)

__all__ = [
    "EndOfInput",
    "InputInterrupted",
    "Key",
    "KeyParser",
    "LineEditingProtocol",
    "LineEditor",
    "LineEntered",
]
