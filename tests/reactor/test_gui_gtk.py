"""GtkReactor: plait on GLib's main loop (PyGObject; skipped without it)."""

from __future__ import annotations

import importlib.util
import os
import resource
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

from plait.defer import Deferred
from plait.protocol import ClientFactory, Factory, Protocol
from plait.reactor import GtkReactor, ReactorNotRunning, reactorClassNamed

from .xvfb import sharedDisplay, xvfbSkipReason

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gi") is None,
    reason="PyGObject is not installed (pip install 'plait[gtk]')",
)


class _PerDescriptorGtkReactor(GtkReactor):
    """The portable mode: a GLib fd watch per descriptor (no epoll set)."""

    nestEpoll = False


@pytest.fixture(params=["epoll-set", "per-fd"])
def gtkClass(request: pytest.FixtureRequest) -> type[GtkReactor]:
    """GtkReactor in both watching modes."""
    return GtkReactor if request.param == "epoll-set" else _PerDescriptorGtkReactor


class _Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class _OneShot(Protocol):
    """Sends ``factory.payload``, fires ``factory.done`` with the echo, disconnects."""

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.got = b""
        self.transport.write(self.factory.payload)

    def dataReceived(self, data: bytes) -> None:
        self.got += data
        if len(self.got) >= len(self.factory.payload):
            assert self.transport is not None
            self.transport.loseConnection()
            self.factory.done.callback(self.got)


def _echoRoundTrip(reactor: Any, payload: bytes) -> Deferred[bytes]:
    port = reactor.listenTCP(0, Factory.forProtocol(_Echo), interface="127.0.0.1")
    client = ClientFactory.forProtocol(_OneShot)
    client.payload = payload  # type: ignore[attr-defined]
    client.done = Deferred()  # type: ignore[attr-defined]
    reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    done: Deferred[bytes] = client.done  # type: ignore[attr-defined]
    return done


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_registry_name() -> None:
    """reactorClassNamed('gtk') is GtkReactor."""
    assert reactorClassNamed("gtk") is GtkReactor


def test_tcp_echo_through_reactor_run(gtkClass: type[GtkReactor]) -> None:
    """A 1 MiB TCP echo round trip completes on the GLib loop; a GLib timeout fires too."""
    from gi.repository import GLib

    reactor = gtkClass()
    payload = bytes(range(256)) * 4096
    got: list[bytes] = []
    seen: list[str] = []
    GLib.timeout_add(10, lambda: seen.append("glib") and False)
    d = _echoRoundTrip(reactor, payload)
    d.addCallback(got.append).addCallback(lambda _: reactor.callLater(0.05, reactor.stop))
    guard = reactor.callLater(10, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert got == [payload]
    assert seen == ["glib"]
    assert guard.active()
    guard.cancel()


def test_application_loop_drives_plait(gtkClass: type[GtkReactor]) -> None:
    """After startRunning(), the application's own GLib.MainLoop serves plait's TCP."""
    from gi.repository import GLib

    reactor = gtkClass()
    reactor.startRunning(installSignalHandlers=False)
    loop = GLib.MainLoop()
    got: list[bytes] = []
    d = _echoRoundTrip(reactor, b"ping from glib")
    d.addCallback(got.append).addCallback(lambda _: loop.quit())
    bound = GLib.timeout_add(10_000, lambda: loop.quit() or False)
    loop.run()
    GLib.source_remove(bound)
    assert got == [b"ping from glib"]
    reactor.stop()
    GLib.MainContext.default().iteration(False)  # serve the waker: 'shutdown' fires
    assert not reactor.running
    with pytest.raises(ReactorNotRunning):
        reactor.stop()


def test_idle_loop_does_not_poll(gtkClass: type[GtkReactor]) -> None:
    """Idle for 1 s with a plait timer pending, GLib dispatches at most a few times."""
    from gi.repository import GLib

    reactor = gtkClass()
    reactor.startRunning(installSignalHandlers=False)
    context = GLib.MainContext.default()
    while context.iteration(False):
        pass
    done: list[bool] = []
    reactor.callLater(1.0, done.append, True)
    reactor.callLater(3600, lambda: None)  # a far timer must not cause periodic wakeups
    rounds = 0
    cpuBefore, started = _cpu(), time.monotonic()
    while not done and time.monotonic() - started < 3.0:
        context.iteration(True)  # blocks until GLib has something to dispatch
        rounds += 1
    elapsed, cpu = time.monotonic() - started, _cpu() - cpuBefore
    reactor.stop()
    context.iteration(False)
    assert done
    assert 0.95 < elapsed < 1.5
    assert rounds <= 5, f"{rounds} GLib iterations in 1 s of idling"
    assert cpu < 0.1, f"{cpu:.3f} s of CPU in 1 s of idling"


def test_call_from_thread_wakes_glib(gtkClass: type[GtkReactor]) -> None:
    """callFromThread from another thread runs on the GLib loop within milliseconds."""
    reactor = gtkClass()
    seen: list[tuple[int, float]] = []
    sentAt: list[float] = []

    def fromThread() -> None:
        time.sleep(0.2)
        sentAt.append(time.monotonic())
        reactor.callFromThread(lambda: seen.append((threading.get_ident(), time.monotonic())))
        reactor.callFromThread(reactor.stop)

    thread = threading.Thread(target=fromThread)
    reactor.callWhenRunning(thread.start)
    guard = reactor.callLater(10, reactor.stop)
    reactor.run(installSignalHandlers=False)
    thread.join()
    assert guard.active()
    guard.cancel()
    [(ident, at)] = seen
    assert ident == threading.get_ident()
    assert at - sentAt[0] < 0.1


def test_timer_moved_earlier_rearms(gtkClass: type[GtkReactor]) -> None:
    """A DelayedCall reset to an earlier time fires at the new time, not the old one."""
    reactor = gtkClass()
    fired: list[float] = []
    call = reactor.callLater(30, lambda: fired.append(time.monotonic()))
    reactor.callWhenRunning(call.reset, 0.05)
    reactor.callLater(0.1, lambda: reactor.stop() if fired else None)
    guard = reactor.callLater(5, reactor.stop)
    started = time.monotonic()
    reactor.run(installSignalHandlers=False)
    assert fired and fired[0] - started < 1.0
    assert guard.active()
    guard.cancel()


_WIDGETS = textwrap.dedent(
    """
    import gi
    gi.require_version("Gtk", "3.0")
    from gi.repository import Gtk
    from plait.protocol import ClientFactory, Factory, Protocol
    from plait.reactor import GtkReactor

    class Echo(Protocol):
        def dataReceived(self, data):
            self.transport.write(data)

    class Client(Protocol):
        def connectionMade(self):
            clients.append(self)
            button.clicked()  # as a user's click would

        def dataReceived(self, data):
            label.set_text(data.decode())
            Gtk.main_quit()

    reactor = GtkReactor()
    window = Gtk.Window()
    box = Gtk.Box()
    label = Gtk.Label(label="waiting")
    button = Gtk.Button(label="Send")
    box.add(button)
    box.add(label)
    window.add(box)
    window.show_all()
    clients = []
    button.connect("clicked", lambda _: clients[0].transport.write(b"pong from a Gtk.Button"))
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    reactor.connectTCP("127.0.0.1", port.getHost().port, ClientFactory.forProtocol(Client))
    reactor.startRunning(installSignalHandlers=False)
    reactor.callLater(10, Gtk.main_quit)
    Gtk.main()  # the application's own GTK loop drives plait
    print(label.get_text())
    """
)


def test_gtk_widgets_under_xvfb() -> None:
    """Under Gtk.main() (on Xvfb), a Gtk.Button click sends over TCP and a Gtk.Label shows
    the echo (in a child process, which owns the GTK display connection)."""
    reason = xvfbSkipReason()
    if reason is not None:
        pytest.skip(reason)
    env = dict(os.environ, DISPLAY=sharedDisplay(), NO_AT_BRIDGE="1")
    out = subprocess.run(
        [sys.executable, "-c", _WIDGETS], env=env, capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0 and "Namespace Gtk not available" in out.stderr:
        pytest.skip("GTK 3 typelib missing (Debian package gir1.2-gtk-3.0)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "pong from a Gtk.Button"
