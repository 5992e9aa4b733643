"""A manhole: a Python prompt into a running server, for its operators, served over SSH.

``ManholeInterpreter`` compiles and runs what an operator types (``codeop``: ``>>>``/``...``
continuation, top-level ``await``), in a namespace of its own that starts as a copy of the
application's (so the objects are shared and the names are per connection), with ``print``,
``help``, ``exit`` and the display of expression values writing to that connection only (never
through a swapped ``sys.stdout``). A ``Deferred`` value is shown when it fires. ``Manhole`` is
the ``LineEditingProtocol`` on top; ``ManholeRealm`` and ``manholeFactory`` serve it over SSH
to users of an ``authorized_keys`` or password file (``plait.app.ManholeService`` listens with
it as a service).
"""

from __future__ import annotations
import __future__

import ast
import builtins
import codeop
import inspect
import os
import pydoc
import re
import rlcompleter
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from plait.auth import AuthorizedKeysChecker, FilePasswordDB, Portal
from plait.defer import Deferred, Failure, ensureDeferred
from plait.log import Logger
from plait.protocol import Protocol, connectionDone
from plait.protocols.lineedit import LineEditingProtocol
from plait.ssh._connection import SSHConnection
from plait.ssh._logtext import shown
from plait.ssh._service import SSHService
from plait.ssh._session import ConchUser, SessionRestrictions
from plait.ssh._transport import SSHServerFactory
from plait.ssh._userauth import FailureLimiter, SSHUserAuthServer
from plait.wire.ssh.keys import PrivateKey, loadPrivateKey

__all__ = [
    "Manhole",
    "ManholeCommand",
    "ManholeInterpreter",
    "ManholeRealm",
    "TerminalFile",
    "manholeFactory",
]

_log = Logger(namespace="plait.ssh.manhole")

_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag
_DISPLAY = "__manhole_display__"
_NAME_BEFORE_CURSOR = re.compile(r"[\w.]*$")
_PLAIN_TEXT: Any = pydoc.plaintext  # type: ignore[attr-defined]  # (typeshed lacks it)


class TerminalFile:
    """A text file object whose writes go to one connection's terminal (``write(text)``).

    It is what ``print`` writes to in a manhole; once ``close``\\ d, writes are dropped (the
    operator left; a late ``Deferred`` must not fail because of it).
    """

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write: Callable[[str], None] | None = write

    def write(self, text: str) -> int:
        """Show ``text``."""
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self._write is not None and text:
            self._write(text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        """Show each of ``lines``."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Nothing to flush: writes go out at once."""

    def isatty(self) -> bool:
        """Not a real terminal (no ``fileno``)."""
        return False

    def close(self) -> None:
        """Drop later writes."""
        self._write = None

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._write is None


class _ExitHelper:
    """``exit``/``quit`` in a manhole: calling it leaves the manhole (the server runs on)."""

    def __init__(self, name: str, leave: Callable[[], None]) -> None:
        self.name = name
        self.leave = leave

    def __repr__(self) -> str:
        return f"Use {self.name}() or Ctrl-D to leave the manhole (the server keeps running)."

    def __call__(self, code: object = None) -> None:
        self.leave()


class _Displayer(ast.NodeTransformer):
    """Wraps expression statements as the interactive compiler would show them (not inside
    function or class bodies) in a call of the per-connection display function."""

    def visit_Expr(self, node: ast.Expr) -> ast.Expr:
        call = ast.Call(ast.Name(_DISPLAY, ast.Load()), [node.value], [])
        return ast.copy_location(ast.Expr(call), node)

    def _keep(self, node: ast.AST) -> ast.AST:
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _keep


class ManholeInterpreter:
    """Runs Python source for one manhole connection (``code.InteractiveInterpreter``'s job).

    ``push(line) -> bool`` adds a line and runs the statement once it is complete (True while
    more lines are needed); ``resetBuffer()`` forgets an unfinished statement. Output goes to
    ``write(text)``: ``print``, tracebacks, ``repr`` of expression values (also kept in ``_``),
    and ``<Deferred #n>`` for a Deferred value followed by ``<Deferred #n fired: repr>`` (or
    ``failed: ...``) when it fires. ``await`` works at the top level (on Deferreds); the
    result shows when the coroutine finishes. ``leave()`` is called by ``exit()``/``quit()``.

    ``globals`` is a copy of ``namespace`` (plus ``__name__``); ``__builtins__`` is a copy of
    the builtins with ``print``, ``help``, ``input`` (refused: it would block the server),
    ``exit`` and ``quit`` of this connection. Statements run in the reactor thread: a long
    loop stalls the server, as in any manhole.
    """

    maxSource = 1 << 20
    filename = "<manhole>"

    def __init__(
        self,
        namespace: Mapping[str, Any] | None,
        write: Callable[[str], None],
        leave: Callable[[], None] | None = None,
    ) -> None:
        self.output = TerminalFile(write)
        self.leave = leave or (lambda: None)
        self.deferredCount = 0
        self.failed = False
        self.buffer: list[str] = []
        own = dict(vars(builtins))
        own.update(
            print=self._print,
            help=self._help,
            input=self._input,
            exit=_ExitHelper("exit", self._leave),
            quit=_ExitHelper("quit", self._leave),
        )
        own[_DISPLAY] = self.display
        self.builtins = own
        self.globals: dict[str, Any] = {"__name__": "__manhole__", "__doc__": None}
        self.globals.update(namespace or {})
        self.globals["__builtins__"] = own
        self._compiler = codeop.CommandCompiler()
        self._compiler.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT

    # -- the builtins of this connection ---------------------------------------------------------

    def _print(
        self,
        *values: object,
        sep: str | None = " ",
        end: str | None = "\n",
        file: Any = None,
        flush: bool = False,
    ) -> None:
        builtins.print(*values, sep=sep, end=end, file=self.output if file is None else file)

    def _help(self, *request: object) -> None:
        if not request:
            self.output.write("help(object) shows its documentation here.\n")
            return
        self.output.write(pydoc.render_doc(request[0], renderer=_PLAIN_TEXT) + "\n")

    def _input(self, prompt: object = "") -> str:
        raise RuntimeError("input() would block the whole server; it is not available here")

    def _leave(self) -> None:
        self.leave()

    def close(self) -> None:
        """The connection is gone: drop output from now on (late Deferreds, coroutines)."""
        self.output.close()

    # -- compiling and running ---------------------------------------------------------------------

    def resetBuffer(self) -> None:
        """Forget the unfinished statement."""
        self.buffer = []

    def push(self, line: str) -> bool:
        """Add ``line``; run the statement if complete. True while more lines are needed."""
        self.buffer.append(line)
        source = "\n".join(self.buffer)
        if len(source) > self.maxSource:
            self.resetBuffer()
            self.output.write(f"input longer than {self.maxSource} characters: dropped\n")
            return False
        try:
            code = self._compiler(source, self.filename, "single")
        except (SyntaxError, OverflowError, ValueError) as e:
            self.resetBuffer()
            self.showSyntaxError(e)
            return False
        if code is None:
            return True
        self.resetBuffer()
        self.runSource(source)
        return False

    def runSource(self, source: str, mode: str = "single") -> Deferred[None] | None:
        """Run complete ``source`` (``mode`` ``"single"`` for one interactive statement,
        ``"exec"`` for a block), showing the values of its expression statements. With a
        top-level ``await`` still waiting, returns a Deferred that fires when it is done.
        ``failed`` says whether the last source raised (or could not be compiled)."""
        futures = self._compiler.compiler.flags & _FUTURE_FLAGS
        try:
            tree = ast.parse(source, self.filename, mode)
            body = tree.body if isinstance(tree, ast.Interactive | ast.Module) else []
            module = ast.Module(body=[_Displayer().visit(node) for node in body], type_ignores=[])
            ast.fix_missing_locations(module)
            flags = futures | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            code = compile(module, self.filename, "exec", flags=flags, dont_inherit=True)
        except (SyntaxError, OverflowError, ValueError) as e:
            self.failed = True
            self.showSyntaxError(e)
            return None
        return self.runCode(code)

    def runCode(self, code: Any) -> Deferred[None] | None:
        """Run a code object in ``globals``; a coroutine (top-level ``await``) runs on, and
        the Deferred of its end is returned if it has not ended yet."""
        self.failed = False
        try:
            result = eval(code, self.globals)
            if code.co_flags & inspect.CO_COROUTINE:
                done = ensureDeferred(result).addCallbacks(lambda _: None, self._showFailure)
                return None if done.called else done
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # SystemExit too: an operator must not stop the server so
            self.failed = True
            self.showTraceback(e)
        return None

    def showSyntaxError(self, error: BaseException) -> None:
        """Show a compile error as the interactive interpreter does."""
        self.output.write("".join(traceback.format_exception_only(type(error), error)))

    def showTraceback(self, error: BaseException) -> None:
        """Show ``error`` with its traceback minus the manhole's own frame."""
        tb = error.__traceback__
        if tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        self.output.write("".join(traceback.format_exception(type(error), error, tb)))

    def _showFailure(self, failure: Failure) -> None:
        self.failed = True
        self.showTraceback(failure.value)

    # -- showing values ----------------------------------------------------------------------------

    def display(self, value: object) -> None:
        """Show an expression statement's value (None is not shown) and keep it in ``_``."""
        if value is None:
            return
        self.builtins["_"] = value
        if isinstance(value, Deferred):
            self.displayDeferred(value)
            return
        self.output.write(repr(value) + "\n")

    def displayDeferred(self, d: Deferred[Any]) -> None:
        """``<Deferred #n>`` now and ``<Deferred #n fired: ...>`` when it fires (at once if it
        already has). The result is passed on unchanged down ``d``'s chain."""
        number = self.deferredCount
        self.deferredCount += 1
        fired: list[bool] = []

        def show(result: object) -> object:
            fired.append(True)
            if isinstance(result, Failure):
                text = f"<Deferred #{number} failed: {_failureText(result)}>"
            else:
                text = f"<Deferred #{number} fired: {_safeRepr(result)}>"
            self.output.write(text + "\n")
            return result

        d.addBoth(show)
        if not fired:
            self.output.write(f"<Deferred #{number}>\n")


def _safeRepr(value: object) -> str:
    try:
        return repr(value)
    except Exception as e:
        return f"<repr of {type(value).__name__} failed: {e!r}>"


def _failureText(failure: Failure) -> str:
    kind = getattr(failure.type, "__name__", str(failure.type))
    return f"{kind}: {failure.getErrorMessage()}"


class Manhole(LineEditingProtocol):
    """The manhole's terminal protocol: ``>>>``/``...`` prompts with line editing over a
    ``ManholeInterpreter`` for ``namespace``.

    Ctrl-C abandons the statement being typed (``KeyboardInterrupt``), Ctrl-D on an empty
    line or ``exit()`` leaves; Tab completes names and attributes (indents at a line's start).
    Without a PTY (``echo 'len(x)' | ssh host``) there is no echo, prompt or banner. Over an SSH session without a PTY (``ssh host`` with input from a
    pipe) nothing is echoed. ``banner`` is shown first.
    """

    ps1 = ">>> "
    ps2 = "... "

    def __init__(self, namespace: Mapping[str, Any] | None = None, banner: str | None = None):
        self.namespace = namespace
        self.banner = banner
        self.interpreter: ManholeInterpreter | None = None
        self._leaving = False
        self._running = False

    def connectionMade(self) -> None:
        """Make the interpreter and show the banner and the first prompt."""
        if getattr(self.transport, "term", "") is None:
            # An SSH session without a PTY (input from a pipe): no echo, prompts or banner,
            # plain newlines, so that `echo 'len(x)' | ssh host` prints just the answer.
            self.echo = False
            self.ps1 = self.ps2 = ""
            self.banner = None
        super().connectionMade()
        self.interpreter = ManholeInterpreter(self.namespace, self.writeOutput, self._leave)
        if self.banner:
            self.writeOutput(self.banner if self.banner.endswith("\n") else self.banner + "\n")
        self.showPrompt(self.ps1)

    def lineReceived(self, line: str) -> None:
        """Give the line to the interpreter, then prompt for more or for the next statement."""
        assert self.interpreter is not None
        self._running = True
        try:
            more = self.interpreter.push(line)
        finally:
            self._running = False
        if self._leaving:
            self._hangUp()
        elif self.connected:
            self.showPrompt(self.ps2 if more else self.ps1)

    def completeLine(self, line: str, cursor: int) -> tuple[int, list[str]] | None:
        """Tab: names and attributes (``rlcompleter`` over this connection's namespace, which
        evaluates the ``a.b`` before the last dot, as the Python prompt does)."""
        if self.interpreter is None:
            return None
        match = _NAME_BEFORE_CURSOR.search(line, 0, cursor)
        if match is None or not match.group():
            return cursor, []
        completer = rlcompleter.Completer(self.interpreter.globals)
        candidates: list[str] = []
        try:
            for state in range(1000):
                candidate = completer.complete(match.group(), state)
                if candidate is None:
                    break
                candidates.append(candidate)
        except Exception:  # a property that raises, say: no completion
            return cursor, []
        return match.start(), candidates

    def interruptReceived(self, line: str) -> None:
        """Ctrl-C: forget the unfinished statement."""
        assert self.interpreter is not None
        self.interpreter.resetBuffer()
        self.writeOutput("KeyboardInterrupt\n")
        self.showPrompt(self.ps1)

    def endOfInputReceived(self) -> None:
        """Ctrl-D on an empty line (or the end of piped input, which first runs an unfinished
        compound statement): leave."""
        if self.echo:
            self.writeOutput("\n")
        elif self.interpreter is not None and self.interpreter.buffer:
            self.interpreter.push("")
        self._hangUp()

    def _leave(self) -> None:
        self._leaving = True
        if not self._running:  # exit() called later, from a callback
            self._hangUp()

    def _hangUp(self) -> None:
        if self.interpreter is not None:
            self.interpreter.close()
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Later output (Deferreds firing) is dropped."""
        if self.interpreter is not None:
            self.interpreter.close()
        super().connectionLost(reason)


class ManholeCommand(Protocol):
    """Runs one block of Python (an SSH ``exec`` request: ``ssh host 'len(clients)'``) and
    exits: status 0, or 1 if it raised. Values and ``print`` go to the output; a top-level
    ``await`` is waited for."""

    def __init__(self, namespace: Mapping[str, Any] | None, source: str) -> None:
        self.namespace = namespace
        self.source = source
        self.interpreter: ManholeInterpreter | None = None

    def connectionMade(self) -> None:
        """Run the source."""
        self.interpreter = ManholeInterpreter(self.namespace, self._write)
        waiting = self.interpreter.runSource(self.source, "exec")
        if waiting is None:
            self._finish()
        else:
            waiting.addBoth(lambda _: self._finish())

    def _write(self, text: str) -> None:
        if self.transport is not None:
            self.transport.write(text.encode("utf-8", "replace"))

    def _finish(self) -> None:
        assert self.interpreter is not None
        status = 1 if self.interpreter.failed else 0
        self.interpreter.close()
        transport: Any = self.transport
        if transport is None or not self.connected:
            return
        exitWith = getattr(transport, "exit", None)
        if exitWith is not None:
            exitWith(status)
        else:
            transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Drop later output."""
        if self.interpreter is not None:
            self.interpreter.close()
        super().connectionLost(reason)


class ManholeRealm:
    """Gives every authenticated user a ``ConchUser`` whose shell is a ``Manhole`` over
    ``namespace`` (``protocolFactory(namespace)`` builds it) and whose ``exec`` runs the
    command as Python (``ManholeCommand``), so a key's ``command="..."`` option limits it to
    that code. No subsystems or port forwarding."""

    def __init__(
        self,
        namespace: Mapping[str, Any] | None = None,
        protocolFactory: Callable[[Mapping[str, Any] | None], Any] = Manhole,
    ) -> None:
        self.namespace = namespace
        self.protocolFactory = protocolFactory

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        """``(interface, ConchUser, logout)`` for ``avatarId``."""
        restrictions = SessionRestrictions.fromOptions(getattr(avatarId, "options", None))
        restrictions.noPortForwarding = True
        name = bytes(avatarId) if isinstance(avatarId, bytes) else str(avatarId).encode()
        _log.info("manhole login: {user}", user=shown(name))  # the peer chose it
        avatar = ConchUser(
            name,
            shellProtocolFactory=lambda avatar: self.protocolFactory(self.namespace),
            execProtocolFactory=lambda avatar, command: ManholeCommand(
                self.namespace, command.decode("utf-8", "replace")
            ),
            restrictions=restrictions,
        )
        avatar.channelLookup.pop(b"direct-tcpip", None)
        interface = interfaces[0] if interfaces else ConchUser
        return interface, avatar, avatar.logout


HostKeys = Sequence["PrivateKey | str | os.PathLike[str]"]


def _loadHostKeys(hostKeys: HostKeys | None) -> list[PrivateKey]:
    if not hostKeys:
        key = PrivateKey.generate("ed25519")
        _log.warn(
            "manhole: no host key given; using a new one for this run: {fingerprint}",
            fingerprint=key.publicKey().fingerprint(),
        )
        return [key]
    keys = []
    for item in hostKeys:
        if isinstance(item, PrivateKey):
            keys.append(item)
        else:
            with open(item, "rb") as f:
                keys.append(loadPrivateKey(f.read()))
    return keys


def manholeFactory(
    reactor: Any,
    namespace: Mapping[str, Any] | None = None,
    portal: Portal | None = None,
    *,
    authorizedKeys: str | os.PathLike[str] | None = None,
    passwordFile: str | os.PathLike[str] | None = None,
    hostKeys: HostKeys | None = None,
    banner: str | None = None,
    **options: Any,
) -> SSHServerFactory:
    """An SSH server factory (``listen`` it on an endpoint) whose users get a manhole.

    Users log in through ``portal`` or else with a key from the ``authorizedKeys`` file (one
    file for every username; OpenSSH's format and options) and/or a password from
    ``passwordFile`` (``user:hash`` lines, see ``plait.auth.FilePasswordDB``). ``hostKeys``:
    ``PrivateKey``\\ s or paths of private key files (none: a new ed25519 key for this run, its
    fingerprint logged). ``options`` go to ``SSHServerFactory``. Failed logins are limited per
    client address across connections (one ``FailureLimiter`` on ``reactor``). ``ValueError``
    without a way to log in.
    """
    if portal is None:
        checkers: list[Any] = []
        if authorizedKeys is not None:
            checkers.append(AuthorizedKeysChecker(authorizedKeys))
        if passwordFile is not None:
            checkers.append(FilePasswordDB(passwordFile, reactor=reactor))
        if not checkers:
            raise ValueError("a manhole needs a portal, an authorizedKeys or a passwordFile")

        def makeManhole(ns: Mapping[str, Any] | None) -> Manhole:
            return Manhole(ns, banner)

        portal = Portal(ManholeRealm(namespace, makeManhole), checkers)
    login = portal
    # One for the server: failed logins are counted per client address across connections.
    limiter = FailureLimiter(reactor)

    def userauth() -> SSHService:
        return SSHUserAuthServer(login, (ConchUser,), SSHConnection, failureLimiter=limiter)

    keys = _loadHostKeys(hostKeys)
    return SSHServerFactory(keys, {b"ssh-userauth": userauth}, portal, reactor=reactor, **options)
