"""``plait telnet`` against inetutils ``telnet`` driven through a pty by pexpect.

Skipped when the ``telnet`` binary (Debian: inetutils-telnet) or pexpect is missing.
"""

from __future__ import annotations

import shutil

import pytest

from ._plaitcmd import plaitCommand

TELNET = shutil.which("telnet")
pexpect = pytest.importorskip("pexpect", reason="pexpect is not installed")
pytestmark = pytest.mark.skipif(
    TELNET is None, reason="telnet is not installed (Debian: inetutils-telnet)"
)


def test_negotiate_edit_and_size() -> None:
    """The client negotiates ECHO/SGA/NAWS/TTYPE; commands, editing and size work."""
    assert TELNET is not None
    with plaitCommand("telnet", "--listen", "tcp:0:interface=127.0.0.1") as (port, _):
        child = pexpect.spawn(
            TELNET,
            ["127.0.0.1", str(port)],
            timeout=10,
            dimensions=(30, 100),
            env={"TERM": "vt100"},
        )
        try:
            child.expect_exact("plait> ")
            child.send("echo hello world\r")
            child.expect_exact("hello world\r\n")
            child.expect_exact("plait> ")
            # Type "sze", move left twice, insert "i", then Enter: the line is "size".
            child.send("sze\x1b[D\x1b[Di\r")
            child.expect_exact("100x30")
            child.expect_exact("plait> ")
            child.setwinsize(40, 132)
            child.send("size\r")
            child.expect_exact("132x40")
            child.send("term\r")
            child.expect("(?i)vt100")
            child.send("echo abcX\x7f\r")  # backspace removes the X
            child.expect_exact("abc\r\n")
            child.send("quit\r")
            child.expect_exact("bye")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
