"""The SSH transport adapters against hostile or odd peers: answers after the peer's DISCONNECT,
timers without a factory reactor, escaped log lines, unauthenticated connection limits, stalled
rekeys."""

from __future__ import annotations

from typing import Any

import pytest

from plait.log import formatEvent, globalLogPublisher
from plait.wire.ssh.types import DisconnectReason

from .test_transport import setUp


@pytest.fixture
def logged() -> Any:
    """Formatted plait.ssh.transport log lines of this test."""
    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "plait.ssh.transport":
            lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


def test_answer_after_disconnect_in_same_read_is_dropped(logged: list[str]) -> None:
    """Data and a DISCONNECT in one read: the service's answer to the data is dropped, no error."""
    client, server, pump, _, made = setUp()
    client.machine.sendMessage(80, b"ping")
    client.machine.sendDisconnect(DisconnectReason.BY_APPLICATION, "bye")
    server.dataReceived(client.machine.dataToSend())  # the echo service answers: must not raise
    assert made["server"].received == [(80, b"ping")]
    assert server.transport.disconnecting  # type: ignore[union-attr]
    assert any("message 81 dropped" in line for line in logged)
    server.sendIgnore(b"late")  # later sends are dropped too
    server.sendUnimplemented()
    pump.flush()
