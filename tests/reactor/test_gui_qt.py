"""QtReactor: plait on Qt's event loop (PySide6; skipped without it), headless."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from plait.reactor import QtReactor, ReactorNotRunning, reactorClassNamed

from .guichecks import (
    checkCallFromThreadWakesLoop,
    checkEchoThroughRun,
    checkTimerMovedEarlierRearms,
    echoRoundTrip,
)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("PySide6") is None,
    reason="PySide6 is not installed (pip install 'plait[qt]')",
)


def _app() -> Any:
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.instance() or QCoreApplication([])


class _PerDescriptorQtReactor(QtReactor):
    """The portable mode: QSocketNotifiers per descriptor (no epoll set)."""

    nestEpoll = False


@pytest.fixture(params=["epoll-set", "per-fd"])
def qtClass(request: pytest.FixtureRequest) -> type[QtReactor]:
    """QtReactor in both watching modes."""
    return QtReactor if request.param == "epoll-set" else _PerDescriptorQtReactor


def test_registry_name() -> None:
    """reactorClassNamed('qt') is QtReactor."""
    assert reactorClassNamed("qt") is QtReactor


def test_run_drives_qt_and_stop_quits_exec(qtClass: type[QtReactor]) -> None:
    """reactor.run() runs app.exec(): a QTimer and plait timers both fire; stop() quits."""
    from PySide6.QtCore import QTimer

    app = _app()
    reactor = qtClass(app)
    assert reactor.app is app
    seen: list[str] = []
    QTimer.singleShot(20, lambda: seen.append("qt"))
    reactor.callLater(0.05, seen.append, "plait")
    reactor.callLater(0.1, reactor.stop)
    started = time.monotonic()
    reactor.run(installSignalHandlers=False)
    assert seen == ["qt", "plait"]
    assert time.monotonic() - started < 2.0


def test_tcp_echo_through_reactor_run(qtClass: type[QtReactor]) -> None:
    """A 1 MiB TCP echo round trip completes on the Qt loop."""
    checkEchoThroughRun(qtClass())


def test_application_exec_drives_plait(qtClass: type[QtReactor]) -> None:
    """After startRunning(), the application's own app.exec() serves plait's TCP."""
    from PySide6.QtCore import QTimer

    app = _app()
    reactor = qtClass(app)
    reactor.startRunning(installSignalHandlers=False)
    got: list[bytes] = []
    d = echoRoundTrip(reactor, b"ping from qt")
    d.addCallback(got.append).addCallback(lambda _: app.quit())
    QTimer.singleShot(10_000, app.quit)  # bound the test
    app.exec()
    assert got == [b"ping from qt"]
    reactor.stop()
    app.processEvents()  # serve the waker: 'shutdown' fires; the app's loop is not quit
    assert not reactor.running
    with pytest.raises(ReactorNotRunning):
        reactor.stop()


def test_idle_loop_does_not_poll(qtClass: type[QtReactor]) -> None:
    """Idle for 1 s with a plait timer pending, Qt's dispatcher wakes at most a few times."""
    from PySide6.QtCore import QAbstractEventDispatcher

    app = _app()
    reactor = qtClass(app)
    dispatcher = QAbstractEventDispatcher.instance()
    wakes: list[float] = []
    dispatcher.awake.connect(lambda: wakes.append(time.monotonic()))
    started: list[float] = []
    reactor.callWhenRunning(lambda: started.append(time.monotonic()))
    reactor.callLater(1.0, reactor.stop)
    reactor.callLater(3600, lambda: None)  # a far timer must not cause periodic wakeups
    reactor.run(installSignalHandlers=False)
    dispatcher.awake.disconnect()
    elapsed = time.monotonic() - started[0]
    assert 0.95 < elapsed < 1.5
    # The counter works: the plait timer that stops the reactor woke the loop at ~1 s.
    assert any(t >= started[0] + 0.95 for t in wakes)
    idle = [t for t in wakes if started[0] + 0.05 < t < started[0] + 0.95]
    assert len(idle) <= 2, f"{len(idle)} wakeups in 0.9 s of idling"


def test_call_from_thread_wakes_qt(qtClass: type[QtReactor]) -> None:
    """callFromThread from another thread runs on the Qt loop within milliseconds."""
    checkCallFromThreadWakesLoop(qtClass())


def test_timer_moved_earlier_rearms(qtClass: type[QtReactor]) -> None:
    """A DelayedCall reset to an earlier time fires at the new time, not the old one."""
    checkTimerMovedEarlierRearms(qtClass())


_WIDGETS = textwrap.dedent(
    """
    import sys
    from PySide6.QtWidgets import QApplication, QLabel, QPushButton
    from plait.protocol import ClientFactory, Factory, Protocol
    from plait.reactor import QtReactor

    class Echo(Protocol):
        def dataReceived(self, data):
            self.transport.write(data)

    class Client(Protocol):
        def connectionMade(self):
            button.setEnabled(True)
            button.click()  # as a user's click would

        def dataReceived(self, data):
            label.setText(data.decode())
            reactor.stop()

    app = QApplication([])
    reactor = QtReactor(app)
    label = QLabel("waiting")
    button = QPushButton("Send")
    button.setEnabled(False)
    clients = []
    factory = ClientFactory()

    def buildProtocol(addr):
        client = Client()
        client.factory = factory
        clients.append(client)
        return client

    factory.buildProtocol = buildProtocol
    button.clicked.connect(lambda: clients[0].transport.write(b"pong from a QPushButton"))
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    reactor.connectTCP("127.0.0.1", port.getHost().port, factory)
    reactor.callLater(10, reactor.stop)
    label.show()
    reactor.run(installSignalHandlers=False)
    print(label.text())
    """
)


def test_qapplication_widgets_offscreen() -> None:
    """In a QApplication (offscreen platform), a QPushButton click sends over TCP and a
    QLabel shows the echo (in a child process: one QApplication per process)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", _WIDGETS], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "pong from a QPushButton"
