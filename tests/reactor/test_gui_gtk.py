"""GtkReactor: plait on GLib's main loop (PyGObject; skipped without it)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import time

import pytest

from plait.reactor import GtkReactor, ReactorNotRunning, reactorClassNamed

from .guichecks import (
    checkCallFromThreadWakesLoop,
    checkTimerMovedEarlierRearms,
    cpuSeconds,
    echoRoundTrip,
)
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
    d = echoRoundTrip(reactor, payload)
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
    d = echoRoundTrip(reactor, b"ping from glib")
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
    cpuBefore, started = cpuSeconds(), time.monotonic()
    while not done and time.monotonic() - started < 3.0:
        context.iteration(True)  # blocks until GLib has something to dispatch
        rounds += 1
    elapsed, cpu = time.monotonic() - started, cpuSeconds() - cpuBefore
    reactor.stop()
    context.iteration(False)
    assert done
    assert 0.95 < elapsed < 1.5
    assert rounds <= 5, f"{rounds} GLib iterations in 1 s of idling"
    assert cpu < 0.1, f"{cpu:.3f} s of CPU in 1 s of idling"


def test_call_from_thread_wakes_glib(gtkClass: type[GtkReactor]) -> None:
    """callFromThread from another thread runs on the GLib loop within milliseconds."""
    checkCallFromThreadWakesLoop(gtkClass())


def test_timer_moved_earlier_rearms(gtkClass: type[GtkReactor]) -> None:
    """A DelayedCall reset to an earlier time fires at the new time, not the old one."""
    checkTimerMovedEarlierRearms(gtkClass())


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
