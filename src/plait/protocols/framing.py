"""The framing protocols under the paper's module name (``plait.protocols.framing``).

The same objects as ``plait.protocols`` exports; see its docstring.
"""

from plait.protocols._framing import (
    Int8StringReceiver,
    Int16StringReceiver,
    Int32StringReceiver,
    IntNStringReceiver,
    LineOnlyReceiver,
    LineReceiver,
    NetstringReceiver,
)

__all__ = [
    "Int8StringReceiver",
    "Int16StringReceiver",
    "Int32StringReceiver",
    "IntNStringReceiver",
    "LineOnlyReceiver",
    "LineReceiver",
    "NetstringReceiver",
]
