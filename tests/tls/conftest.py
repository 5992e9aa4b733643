"""Shared certificates for the TLS tests (made once per session: key generation is the cost)."""

from __future__ import annotations

import pytest

from .certs import CA, Leaf


@pytest.fixture(scope="session")
def ca() -> CA:
    """A CA the clients trust."""
    return CA()


@pytest.fixture(scope="session")
def otherCA() -> CA:
    """A CA nobody trusts."""
    return CA("some other CA")


@pytest.fixture(scope="session")
def serverLeaf(ca: CA) -> Leaf:
    """The server's certificate for localhost, 127.0.0.1 and example.test."""
    return ca.issue("localhost", "127.0.0.1", "example.test")
