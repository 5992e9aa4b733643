"""Telnet server side (paper Table 1; RFC 854/855, ECHO 857, SGA 858, NAWS 1073, TTYPE 1091).

- ``TelnetProtocol``: a Telnet connection over ``plait.wire.telnet``'s machine; applications
  subclass it (``applicationDataReceived``, ``telnet_NAWS``, ``terminalType``,
  ``commandReceived``, ``optionChanged``) and negotiate with ``enableLocal``/``enableRemote``/
  ``disableLocal``/``disableRemote`` (Deferreds; ``negotiationTimeout`` seconds on ``clock``).
- ``TelnetTransport(protocolFactory, ...)``: wraps an ordinary protocol, which then sees only
  clean bytes in ``dataReceived`` and writes plain bytes.

Errors: ``OptionRefusedError`` (a negotiation ended the other way), ``plait.defer.TimeoutError``
(no answer in time), ``plait.wire.LocalProtocolError`` (a request RFC 1143 forbids, e.g.
enabling an enabled option; given as the Deferred's failure). An over-long subnegotiation is
logged and dropped.
"""

from plait.protocols._telnet import OptionRefusedError, TelnetProtocol, TelnetTransport

__all__ = ["OptionRefusedError", "TelnetProtocol", "TelnetTransport"]
