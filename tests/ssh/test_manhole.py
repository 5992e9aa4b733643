"""The manhole: the interpreter, the line-editing protocol, the realm, factory and service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plait.auth import Portal
from plait.defer import Deferred, fail, succeed
from plait.ssh.connection import SSHConnection
from plait.ssh.manhole import (
    Manhole,
    ManholeCommand,
    ManholeInterpreter,
    ManholeRealm,
    TerminalFile,
    manholeFactory,
)
from plait.ssh.session import ConchUser, openSession
from plait.ssh.transport import SSHServerFactory
from plait.testing import Clock, StringTransport, successResultOf
from plait.wire.ssh.keys import PrivateKey, parseAuthorizedKeys

from .connfakes import ServicePair

try:
    from ..protocols.test_lineedit import Screen
except ImportError:  # run from another root
    from tests.protocols.test_lineedit import Screen  # type: ignore[no-redef]


class Output:
    """Collects what an interpreter writes."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def __call__(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def interpreter(namespace: dict[str, Any] | None = None) -> tuple[ManholeInterpreter, Output]:
    out = Output()
    return ManholeInterpreter(namespace or {}, out), out


def run(interp: ManholeInterpreter, *lines: str) -> list[bool]:
    return [interp.push(line) for line in lines]


# -- ManholeInterpreter ---------------------------------------------------------------------------


def test_expression_value_is_shown_and_kept() -> None:
    """An expression's repr is shown and kept in ``_``; None is not shown."""
    interp, out = interpreter()
    assert run(interp, "1+1") == [False]
    assert out.take() == "2\n"
    run(interp, "_ * 10", "None", "'x'")
    assert out.take() == "20\n'x'\n"


def test_multi_line_statement() -> None:
    """A compound statement waits for a blank line; then it runs."""
    interp, out = interpreter()
    assert run(interp, "def f(x):", "    y = x * 2", "    return y + 1", "") == [
        True,
        True,
        True,
        False,
    ]
    run(interp, "f(20)")
    assert out.take() == "41\n"


def test_loop_shows_each_value_but_function_bodies_do_not() -> None:
    """Expression statements in a top-level loop are shown; inside a function they are not."""
    interp, out = interpreter()
    run(interp, "for i in range(3): i", "")
    assert out.take() == "0\n1\n2\n"
    run(interp, "def g():", "    42", "", "g()")
    assert out.take() == ""


def test_print_goes_to_the_connection() -> None:
    """print writes to this connection's terminal, with sep and end."""
    interp, out = interpreter()
    run(interp, "print('a', 1, sep='-', end='!\\n')")
    assert out.take() == "a-1!\n"


def test_exception_traceback_without_manhole_frames() -> None:
    """An exception shows a traceback from the typed code, not the manhole's own frames."""
    interp, out = interpreter()
    run(interp, "def boom():", "    return 1 / 0", "", "boom()")
    text = out.take()
    assert text.startswith("Traceback (most recent call last):\n")
    assert "ZeroDivisionError: division by zero" in text
    assert "_manhole.py" not in text
    assert 'File "<manhole>"' in text


def test_syntax_error_and_buffer_reset() -> None:
    """A syntax error is shown and the statement forgotten."""
    interp, out = interpreter()
    assert run(interp, "if x ==:") == [False]
    assert "SyntaxError" in out.take()
    assert interp.buffer == []
    run(interp, "3")
    assert out.take() == "3\n"


def test_system_exit_does_not_stop_the_server() -> None:
    """raise SystemExit is shown, not raised."""
    interp, out = interpreter()
    run(interp, "raise SystemExit(3)")
    assert "SystemExit: 3" in out.take()


def test_input_refused_and_exit_leaves() -> None:
    """input() would block: refused; exit() calls leave."""
    left: list[bool] = []
    out = Output()
    interp = ManholeInterpreter({}, out, lambda: left.append(True))
    run(interp, "input()")
    assert "RuntimeError: input() would block" in out.take()
    run(interp, "exit")
    assert "leave the manhole" in out.take()
    run(interp, "quit()")
    assert left == [True]


def test_help_writes_documentation() -> None:
    """help(obj) renders plain-text docs to the connection."""
    interp, out = interpreter()
    run(interp, "help(len)")
    assert "Return the number of items in a container." in out.take()


def test_namespace_copied_objects_shared() -> None:
    """Each connection has its own names; the application's objects are shared."""
    state: dict[str, int] = {"hits": 0}
    namespace = {"state": state}
    one, outOne = interpreter(namespace)
    two, outTwo = interpreter(namespace)
    run(one, "x = 5", "state['hits'] += 1")
    run(two, "x", "state['hits']")
    assert "NameError" in outTwo.take()
    assert state["hits"] == 1
    assert "x" not in namespace and "__builtins__" not in namespace
    run(one, "print(x)")
    assert outOne.take() == "5\n"


def test_deferred_shown_when_it_fires() -> None:
    """A Deferred value shows <Deferred #n> and later its result; the chain goes on."""
    d: Deferred[int] = Deferred()
    interp, out = interpreter({"d": d})
    run(interp, "d")
    assert out.take() == "<Deferred #0>\n"
    d.callback(7)
    assert out.take() == "<Deferred #0 fired: 7>\n"
    assert successResultOf(d) == 7


def test_deferred_already_fired_and_failed() -> None:
    """An already-fired Deferred shows its result at once; a failure shows its error."""
    interp, out = interpreter({"succeed": succeed, "fail": fail})
    run(interp, "succeed('ok')")
    assert out.take() == "<Deferred #0 fired: 'ok'>\n"
    run(interp, "d = fail(ValueError('nope'))", "d", "d.addErrback(lambda f: None)")
    text = out.take()
    assert "<Deferred #1 failed: ValueError: nope>\n" in text


def test_top_level_await() -> None:
    """``await`` on a Deferred at the prompt shows the value when it fires."""
    d: Deferred[str] = Deferred()
    interp, out = interpreter({"d": d})
    run(interp, "(await d).upper()")
    assert out.take() == ""
    d.callback("late")
    assert out.take() == "'LATE'\n"
    e: Deferred[str] = Deferred()
    interp.globals["e"] = e
    run(interp, "await e")
    e.errback(KeyError("gone"))
    assert "KeyError: 'gone'" in out.take()


def test_closed_interpreter_drops_output() -> None:
    """After close, a late Deferred's display is dropped."""
    d: Deferred[int] = Deferred()
    interp, out = interpreter({"d": d})
    run(interp, "d")
    out.take()
    interp.close()
    d.callback(1)
    assert out.take() == ""


def test_terminal_file() -> None:
    """TerminalFile writes text only, and nothing after close."""
    out = Output()
    f = TerminalFile(out)
    assert f.write("ab") == 2
    f.writelines(["c", "d"])
    with pytest.raises(TypeError):
        f.write(b"x")  # type: ignore[arg-type]
    f.close()
    f.write("lost")
    assert (out.take(), f.closed, f.isatty()) == ("abcd", True, False)


# -- Manhole protocol ---------------------------------------------------------------------------------


def connect(namespace: dict[str, Any] | None = None, width: int = 80) -> tuple[Manhole, Any]:
    class Transport(StringTransport):
        windowSize = (width, 24)

    proto = Manhole(namespace)
    transport = Transport()
    proto.makeConnection(transport)
    return proto, transport


def screenOf(transport: StringTransport, width: int = 80) -> list[str]:
    screen = Screen(width)
    screen.feed(transport.value())
    return screen.lines()


def test_protocol_session_on_screen() -> None:
    """Typing 1+1, a function over several lines and a call gives the expected screen."""
    proto, transport = connect()
    proto.dataReceived(b"1+1\r")
    proto.dataReceived(b"def f(a):\r")
    proto.dataReceived(b"    return a * 3\r\r")
    proto.dataReceived(b"f(4)\r")
    assert screenOf(transport) == [
        ">>> 1+1",
        "2",
        ">>> def f(a):",
        "...     return a * 3",
        "...",
        ">>> f(4)",
        "12",
        ">>>",
    ]


def test_protocol_arrow_editing_and_history() -> None:
    """Arrow keys edit the line; Up recalls the previous line."""
    proto, transport = connect()
    proto.dataReceived(b"2*3\x1b[D\x7f+\r")
    proto.dataReceived(b"\x1b[A\x1b[H\x1b[3~9\r")
    lines = screenOf(transport)
    assert lines[:4] == [">>> 2+3", "5", ">>> 9+3", "12"]


def test_protocol_ctrl_c_and_ctrl_d() -> None:
    """Ctrl-C abandons a statement with KeyboardInterrupt; Ctrl-D on an empty line leaves."""
    proto, transport = connect()
    proto.dataReceived(b"for i in x:\r  pass\x03")
    assert screenOf(transport)[-3:] == ["...   pass^C", "KeyboardInterrupt", ">>>"]
    assert proto.interpreter is not None and proto.interpreter.buffer == []
    proto.dataReceived(b"\x04")
    assert transport.disconnecting


def test_protocol_exit_call_hangs_up() -> None:
    """exit() ends the session, also when called later from a callback."""
    proto, transport = connect()
    proto.dataReceived(b"exit()\r")
    assert transport.disconnecting
    d: Deferred[None] = Deferred()
    proto, transport = connect({"d": d})
    proto.dataReceived(b"d.addCallback(lambda _: exit()) and None\r")
    assert not transport.disconnecting
    d.callback(None)
    assert transport.disconnecting


def test_protocol_output_is_per_connection() -> None:
    """Two connections on one namespace: each sees only its own output."""
    namespace: dict[str, Any] = {"shared": []}
    one, t1 = connect(namespace)
    two, t2 = connect(namespace)
    one.dataReceived(b"print('from one'); shared.append(1)\r")
    two.dataReceived(b"len(shared)\r")
    assert "from one" in screenOf(t1) and "from one" not in screenOf(t2)
    assert screenOf(t2)[-2:] == ["1", ">>>"]


def test_protocol_deferred_fires_while_typing() -> None:
    """A Deferred firing while the operator types shows above the prompt; the line stays."""
    d: Deferred[int] = Deferred()
    proto, transport = connect({"d": d})
    proto.dataReceived(b"d\rpartial")
    d.callback(99)
    assert screenOf(transport) == [
        ">>> d",
        "<Deferred #0>",
        "<Deferred #0 fired: 99>",
        ">>> partial",
    ]


def test_protocol_tab_completion() -> None:
    """Tab completes names and attributes from the connection's namespace."""
    proto, transport = connect({"state": {}, "stadium": 1})
    proto.dataReceived(b"sta\t")
    assert proto.editor.line == "sta"
    assert screenOf(transport)[-2:] == ["state  stadium  staticmethod(", ">>> sta"]
    proto.dataReceived(b"te.ke\t")
    assert proto.editor.line == "state.keys("
    proto.dataReceived(b"\x15pri\t'x')\r")
    assert screenOf(transport)[-3:] == [">>> print('x')", "x", ">>>"]
    proto.dataReceived(b"nothing.x\t")
    assert proto.editor.line == "nothing.x"


def test_protocol_without_pty_does_not_echo() -> None:
    """On an SSH session transport without a PTY (term None): no echo, prompt or banner."""

    class NoPty(StringTransport):
        term = None
        windowSize = None

    proto = Manhole({}, banner="welcome")
    transport = NoPty()
    proto.makeConnection(transport)
    proto.dataReceived(b"6*7\n")
    assert transport.value() == b"42\n"
    proto.dataReceived(b"for i in range(2):\n print(i)\n")
    proto.readConnectionLost()
    assert transport.value() == b"42\n0\n1\n"
    assert transport.disconnecting


# -- over an SSH connection (in memory) -------------------------------------------------------------


def sshSession(avatar: ConchUser) -> tuple[ServicePair, Any]:
    """A client session channel open on ``avatar``'s server connection, in memory."""
    client = SSHConnection()
    pair = ServicePair(client, SSHConnection(avatar))
    d = openSession(client)
    pair.pump()
    return pair, successResultOf(d)


def test_realm_avatar_runs_manhole_over_ssh_session() -> None:
    """The realm's avatar runs a Manhole for a session with a PTY, sized by pty-req and
    window-change; no port forwarding."""
    manholes: list[Manhole] = []

    def makeManhole(namespace: Any) -> Manhole:
        manholes.append(Manhole(namespace))
        return manholes[-1]

    realm = ManholeRealm({"answer": 42}, makeManhole)
    interface, avatar, logout = realm.requestAvatar(b"alice", None, ConchUser)
    assert interface is ConchUser and isinstance(avatar, ConchUser)
    assert b"direct-tcpip" not in avatar.channelLookup
    assert not avatar.allowListen("127.0.0.1", 8000)
    pair, session = sshSession(avatar)
    session.requestPty(b"xterm", 60, 20)
    session.shell()
    pair.pump()
    (manhole,) = manholes
    assert manhole.editor.width == 60
    session.write(b"answer + 1\r")
    pair.pump()
    session.windowChange(30, 20)
    pair.pump()
    assert manhole.editor.width == 30
    session.write(b"\x04")
    pair.pump()
    screen = Screen(60)
    screen.feed(b"".join(session.received))
    assert screen.lines()[:3] == [">>> answer + 1", "43", ">>>"]
    assert successResultOf(session.finished) == 0
    logout()


@pytest.mark.parametrize(
    ("command", "output", "status"),
    [
        (b"answer * 2", b"84\n", 0),
        (b"for i in range(2):\n    print(i)", b"0\n1\n", 0),
        (b"answer / 0", b"ZeroDivisionError: division by zero\n", 1),
        (b"await later", b"'done'\n", 0),
    ],
)
def test_exec_runs_python(command: bytes, output: bytes, status: int) -> None:
    """ssh host 'code': the code runs (top-level await waited for) with its exit status."""
    later: Deferred[str] = Deferred()
    _, avatar, _ = ManholeRealm({"answer": 42, "later": later}).requestAvatar(b"a", None)
    pair, session = sshSession(avatar)
    session.execCommand(command)
    pair.pump()
    later.callback("done")
    pair.pump()
    assert b"".join(session.received).endswith(output)
    assert successResultOf(session.finished) == status


def test_realm_forced_command_runs_instead_of_shell() -> None:
    """A key with command="..." runs that code instead of the prompt."""
    key = PrivateKey.generate("ed25519").publicKey().toOpenSSH()
    (entry,) = parseAuthorizedKeys(b'command="print(len(items))" ' + key)

    class KeyId(bytes):
        options = entry.options

    _, avatar, _ = ManholeRealm({"items": [1, 2, 3]}).requestAvatar(KeyId(b"bob"), None)
    assert avatar.restrictions.forcedCommand == b"print(len(items))"
    pair, session = sshSession(avatar)
    session.shell()
    pair.pump()
    assert b"".join(session.received) == b"3\n"
    assert successResultOf(session.finished) == 0


def test_factory_needs_a_login_method(tmp_path: Path) -> None:
    """manholeFactory refuses without a portal or file; builds an SSH factory with them."""
    with pytest.raises(ValueError, match="needs a portal"):
        manholeFactory(Clock(), {})
    hostKey = PrivateKey.generate("ed25519")
    keyPath = tmp_path / "host"
    keyPath.write_bytes(hostKey.toOpenSSH())
    authorized = tmp_path / "authorized_keys"
    authorized.write_bytes(b"")
    factory = manholeFactory(Clock(), {}, authorizedKeys=authorized, hostKeys=[str(keyPath)])
    assert isinstance(factory, SSHServerFactory)
    assert [k.publicKey() for k in factory.hostKeys] == [hostKey.publicKey()]
    assert isinstance(factory.portal, Portal)
    generated = manholeFactory(Clock(), {}, Portal(ManholeRealm({})))
    assert len(generated.hostKeys) == 1


def test_command_on_plain_transport_loses_connection() -> None:
    """ManholeCommand on a transport without exit() writes its output and hangs up."""
    transport = StringTransport()
    command = ManholeCommand({"x": 3}, "x ** 2\nprint('ok')")
    command.makeConnection(transport)
    assert transport.value() == b"9\nok\n"
    assert transport.disconnecting
    assert command.interpreter is not None and not command.interpreter.failed
