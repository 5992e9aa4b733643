"""Multicast on every backend: join, receive, leave, and the socket options, on loopback.

Receivers bind the group address itself (not 0.0.0.0), so nothing listens on a real interface,
and the group is joined on 127.0.0.1 with the sender's outgoing interface 127.0.0.1.

Where the host's routing makes loopback multicast impossible, the tests skip with the probe's
error, and (as root, with ``unshare`` and ``ip``) ``test_in_a_network_namespace`` runs them
again inside a fresh network namespace whose ``lo`` routes 224.0.0.0/4. Setting
``PLAIT_MULTICAST_NETNS=1`` forces that run even where loopback multicast works.
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import socket
import subprocess
import sys
from typing import Any

import pytest

from plait.defer import Deferred
from plait.protocol import DatagramProtocol, MulticastJoinError

from .conftest import ipv6Available, runUntil

_groups = itertools.cycle(range(100, 200))


def nextGroup() -> str:
    """A group in 228.0.0.0/24, different for each test (no cross-talk between tests)."""
    return f"228.0.0.{next(_groups)}"


@functools.cache
def loopbackMulticastSkipReason() -> str | None:
    """Why multicast over 127.0.0.1 cannot work on this host, or None if it works."""
    group = "228.0.0.99"
    try:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as r,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s,
        ):
            r.bind((group, 0))
            mreq = socket.inet_aton(group) + socket.inet_aton("127.0.0.1")
            r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            r.settimeout(1.0)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            s.sendto(b"probe", (group, r.getsockname()[1]))
            r.recvfrom(16)
    except OSError as e:
        return f"multicast over the loopback interface does not work on this host: {e}"
    return None


@pytest.fixture(autouse=True)
def _needsLoopbackMulticast(request: pytest.FixtureRequest) -> None:
    reason = loopbackMulticastSkipReason()
    if reason is not None and request.function is not test_in_a_network_namespace:
        pytest.skip(reason)


class Listener(DatagramProtocol):
    """Collects datagrams; ``done`` fires after ``expect`` of them."""

    def __init__(self, expect: int = 1) -> None:
        self.expect = expect
        self.received: list[tuple[bytes, tuple[str, int]]] = []
        self.done: Deferred[list[tuple[bytes, tuple[str, int]]]] = Deferred()

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        self.received.append((datagram, addr))
        if len(self.received) >= self.expect and not self.done.called:
            self.done.callback(self.received)


def sender(reactor: Any) -> Any:
    """A multicast port on 127.0.0.1 that sends out of 127.0.0.1 with loopback on."""
    port = reactor.listenMulticast(0, DatagramProtocol(), interface="127.0.0.1")
    port.setLoopbackMode(True)
    port.setOutgoingInterface("127.0.0.1")
    return port


def test_join_receive_leave(reactor: Any) -> None:
    """A member receives what is sent to the group; after leaving it receives nothing more."""
    group = nextGroup()
    listener = Listener()
    port = reactor.listenMulticast(0, listener, interface=group)
    number = port.getHost().port
    out = sender(reactor)
    outNumber = out.getHost().port
    joined = port.joinGroup(group, "127.0.0.1")

    def send(_: object) -> Deferred[Any]:
        out.write(b"hello group", (group, number))
        return listener.done

    got = runUntil(reactor, joined.addCallback(send))
    assert got == [(b"hello group", ("127.0.0.1", outNumber))]


def test_leave_stops_delivery(reactor: Any) -> None:
    """After leaveGroup a datagram to the group no longer arrives (a probe sent after it does)."""
    group = nextGroup()
    listener = Listener(expect=2)
    port = reactor.listenMulticast(0, listener, interface=group)
    number = port.getHost().port
    out = sender(reactor)
    # A unicast probe, sent after the post-leave group datagram, to a port relaying to the same
    # listener: once it is in, the group datagram would have been in too (loopback is FIFO).
    relay = DatagramProtocol()
    relay.datagramReceived = listener.datagramReceived  # type: ignore[method-assign]
    probe = reactor.listenUDP(0, relay, interface="127.0.0.1")

    def joined(_: object) -> Deferred[None]:
        out.write(b"member", (group, number))
        return port.leaveGroup(group, "127.0.0.1")

    def left(_: object) -> Deferred[Any]:
        out.write(b"not a member", (group, number))
        out.write(b"probe", ("127.0.0.1", probe.getHost().port))
        return listener.done

    d = port.joinGroup(group, "127.0.0.1").addCallback(joined).addCallback(left)
    got = runUntil(reactor, d)
    assert [data for data, _ in got] == [b"member", b"probe"]


def test_join_failure(reactor: Any) -> None:
    """Joining a non-multicast address fails the Deferred with MulticastJoinError."""
    port = reactor.listenMulticast(0, DatagramProtocol(), interface="127.0.0.1")
    d = port.joinGroup("127.0.0.1", "127.0.0.1")
    failures: list[Any] = []
    d.addErrback(failures.append)
    assert failures and failures[0].check(MulticastJoinError)
    port.stopListening()


def test_leave_without_join_fails(reactor: Any) -> None:
    """Leaving a group never joined fails with MulticastJoinError."""
    port = reactor.listenMulticast(0, DatagramProtocol(), interface="127.0.0.1")
    failures: list[Any] = []
    port.leaveGroup("228.0.0.250", "127.0.0.1").addErrback(failures.append)
    assert failures and failures[0].check(MulticastJoinError)
    port.stopListening()


def test_socket_options(reactor: Any) -> None:
    """TTL, loopback mode and outgoing interface read back what was set."""
    port = reactor.listenMulticast(0, DatagramProtocol(), interface="127.0.0.1")
    assert port.getTTL() == 1
    port.setTTL(4)
    assert port.getTTL() == 4
    with pytest.raises(ValueError):
        port.setTTL(256)
    port.setLoopbackMode(False)
    assert port.getLoopbackMode() is False
    port.setLoopbackMode(True)
    assert port.getLoopbackMode() is True
    assert port.getOutgoingInterface() == "0.0.0.0"
    results: list[int] = []
    port.setOutgoingInterface("127.0.0.1").addCallback(results.append)
    assert results == [1]
    assert port.getOutgoingInterface() == "127.0.0.1"
    port.stopListening()


def test_listen_multiple(reactor: Any) -> None:
    """With listenMultiple two ports bind one group port and both receive a group datagram."""
    group = nextGroup()
    first, second = Listener(), Listener()
    p1 = reactor.listenMulticast(0, first, interface=group, listenMultiple=True)
    number = p1.getHost().port
    p2 = reactor.listenMulticast(number, second, interface=group, listenMultiple=True)
    assert p2.getHost().port == number
    out = sender(reactor)
    joins = p1.joinGroup(group, "127.0.0.1")
    joins.addCallback(lambda _: p2.joinGroup(group, "127.0.0.1"))
    joins.addCallback(lambda _: out.write(b"both", (group, number)))
    joins.addCallback(lambda _: first.done)
    joins.addCallback(lambda _: second.done)
    got = runUntil(reactor, joins)
    assert got[0][0] == b"both" and first.received[0][0] == b"both"


def test_ipv6_join_and_leave_on_lo(reactor: Any) -> None:
    """An IPv6 port joins and leaves a link-local group on the interface named 'lo'."""
    if not ipv6Available():
        pytest.skip("IPv6 (::1) is not available on this machine")
    port = reactor.listenMulticast(0, DatagramProtocol(), interface="::1")
    outcomes: list[Any] = []
    port.joinGroup("ff02::1:7", "lo").addBoth(outcomes.append)
    port.leaveGroup("ff02::1:7", "lo").addBoth(outcomes.append)
    port.leaveGroup("ff02::1:7", "lo").addBoth(outcomes.append)
    port.joinGroup("ff02::1:7", "no-such-interface0").addBoth(outcomes.append)
    assert outcomes[:2] == [None, None]
    assert outcomes[2].check(MulticastJoinError)
    assert outcomes[3].check(MulticastJoinError)
    port.setTTL(3)
    assert port.getTTL() == 3
    port.setLoopbackMode(False)
    assert port.getLoopbackMode() is False
    port.setOutgoingInterface("lo")
    assert port.getOutgoingInterface() == str(socket.if_nametoindex("lo"))
    port.stopListening()


_IN_NETNS = "PLAIT_IN_NETNS"


def test_in_a_network_namespace() -> None:
    """Where the host cannot multicast over lo, the tests above pass in a fresh namespace."""
    if os.environ.get(_IN_NETNS):
        pytest.skip("already running inside the test network namespace")
    hostReason = loopbackMulticastSkipReason()
    if hostReason is None and not os.environ.get("PLAIT_MULTICAST_NETNS"):
        pytest.skip("loopback multicast works on this host: the tests ran directly")
    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        pytest.skip(f"{hostReason}; a network namespace needs root and unshare/ip ({missing})")
    script = (
        "ip link set lo up && ip route add 224.0.0.0/4 dev lo && "
        f"exec {sys.executable} -m pytest -rs -p no:randomly {__file__} -k 'not namespace'"
    )
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script],
        env={**os.environ, _IN_NETNS: "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SKIPPED" not in done.stdout, done.stdout
