"""The ``plait telnet`` demo shell under TelnetTransport, on an in-memory transport."""

from __future__ import annotations

from plait.app._telnetshell import DemoShell
from plait.protocols.telnet import TelnetTransport
from plait.testing import StringTransport
from plait.wire.telnet import DO, DONT, ECHO, IAC, NAWS, SB, SE, SGA, TTYPE, WILL


def shell() -> tuple[TelnetTransport, StringTransport]:
    """A demo shell whose client agreed to ECHO and SGA."""
    wrapper = TelnetTransport(DemoShell)
    transport = StringTransport()
    wrapper.makeConnection(transport)
    wrapper.dataReceived(bytes([IAC, DO, ECHO, IAC, DO, SGA]))
    transport.clear()
    return wrapper, transport


def test_greeting_and_negotiation() -> None:
    """The shell asks for ECHO, SGA, NAWS and TTYPE and shows a prompt."""
    wrapper = TelnetTransport(DemoShell)
    transport = StringTransport()
    wrapper.makeConnection(transport)
    out = transport.value()
    for request in ([IAC, WILL, ECHO], [IAC, WILL, SGA], [IAC, DO, NAWS], [IAC, DO, TTYPE]):
        assert bytes(request) in out
    assert out.endswith(b"plait> ")


def test_line_editing() -> None:
    """Arrows move the cursor, backspace deletes before it, Enter runs the edited line."""
    wrapper, transport = shell()
    left = b"\x1b[D"
    # "ecxho hi", five lefts put the cursor after "ecx"; backspace drops the x; one right.
    wrapper.dataReceived(b"ecxho hi" + left * 5 + b"\x7f" + b"\x1b[C" + b"\r\x00")
    assert transport.value().endswith(b"\r\nhi\r\nplait> ")
    transport.clear()
    wrapper.dataReceived(b"bogus\r\n")
    assert b"unknown command: bogus" in transport.value()


def test_size_and_term() -> None:
    """size and term report what NAWS and TTYPE said."""
    wrapper, transport = shell()
    wrapper.dataReceived(bytes([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 100, 0, 50, IAC, SE]))
    wrapper.dataReceived(bytes([IAC, WILL, TTYPE, IAC, SB, TTYPE, 0]) + b"VT100" + bytes([IAC, SE]))
    transport.clear()
    wrapper.dataReceived(b"size\rterm\r")
    assert b"100x50" in transport.value()
    assert b"VT100" in transport.value()


def test_quit_closes() -> None:
    """quit says bye and closes the connection."""
    wrapper, transport = shell()
    wrapper.dataReceived(b"quit\r")
    assert b"bye" in transport.value()
    assert transport.disconnecting


def test_history_and_ctrl_d() -> None:
    """Up recalls the last line (the shared line editor); Ctrl-D on an empty line says bye."""
    wrapper, transport = shell()
    wrapper.dataReceived(b"echo again\r")
    transport.clear()
    wrapper.dataReceived(b"\x1b[A\r")
    assert transport.value().endswith(b"\r\nagain\r\nplait> ")
    wrapper.dataReceived(b"\x04")
    assert transport.value().endswith(b"bye\r\n")
    assert transport.disconnecting


def test_no_echo_when_client_refuses_echo() -> None:
    """A client that refused ECHO (DONT ECHO) gets replies but not its keys echoed back."""
    wrapper = TelnetTransport(DemoShell)
    transport = StringTransport()
    wrapper.makeConnection(transport)
    wrapper.dataReceived(bytes([IAC, DONT, ECHO]))
    transport.clear()
    wrapper.dataReceived(b"echo quiet\r\n")
    assert transport.value() == b"quiet\r\nplait> "
