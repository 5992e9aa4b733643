"""Address objects are small immutable values."""

from __future__ import annotations

import dataclasses

import pytest

from plait.protocol import HostnameAddress, IPv4Address, IPv6Address, UNIXAddress


def test_ipv4_address_is_a_hashable_value() -> None:
    """Equal IPv4 addresses compare and hash equal; different ports do not."""
    a = IPv4Address("TCP", "127.0.0.1", 80)
    assert a == IPv4Address("TCP", "127.0.0.1", 80)
    assert a != IPv4Address("TCP", "127.0.0.1", 81)
    assert a != IPv4Address("UDP", "127.0.0.1", 80)
    assert len({a, IPv4Address("TCP", "127.0.0.1", 80)}) == 1


def test_addresses_are_frozen_and_slotted() -> None:
    """Addresses cannot be changed and carry no per-instance dict."""
    a = IPv6Address("TCP", "::1", 443)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.port = 1  # type: ignore[misc]
    for addr in (
        a,
        IPv4Address("UDP", "10.0.0.1", 53),
        UNIXAddress(b"/s"),
        HostnameAddress(b"h", 1),
    ):
        assert not hasattr(addr, "__dict__")


def test_ipv6_defaults() -> None:
    """IPv6 flow info and scope id default to 0."""
    a = IPv6Address("UDP", "fe80::1", 5353)
    assert (a.flowInfo, a.scopeID) == (0, 0)
    assert IPv6Address("UDP", "fe80::1", 5353, 0, 2) != a


def test_unix_and_hostname_addresses() -> None:
    """Unix addresses may be unnamed; hostname addresses hold the unresolved name."""
    assert UNIXAddress(None).name is None
    assert UNIXAddress("/tmp/x") != UNIXAddress(b"/tmp/x")
    assert HostnameAddress(b"example.com", 443).hostname == b"example.com"
