"""The IReactor* interfaces keep Twisted's method names, argument orders and defaults."""

from __future__ import annotations

import inspect

import pytest

from plait import reactor as R

# interface, method -> (parameter names after self, {name: default})
SIGNATURES: dict[tuple[type, str], tuple[list[str], dict[str, object]]] = {
    (R.IReactorCore, "run"): (["installSignalHandlers"], {"installSignalHandlers": True}),
    (R.IReactorCore, "iterate"): (["delay"], {"delay": 0}),
    (R.IReactorCore, "addSystemEventTrigger"): (
        ["phase", "eventType", "callable", "args", "kw"],
        {},
    ),
    (R.IReactorCore, "resolve"): (["name", "timeout"], {"timeout": (1, 3, 11, 45)}),
    (R.IReactorTCP, "listenTCP"): (
        ["port", "factory", "backlog", "interface"],
        {"backlog": 50, "interface": ""},
    ),
    (R.IReactorTCP, "connectTCP"): (
        ["host", "port", "factory", "timeout", "bindAddress"],
        {"timeout": 30, "bindAddress": None},
    ),
    (R.IReactorUNIX, "listenUNIX"): (
        ["address", "factory", "backlog", "mode", "wantPID"],
        {"backlog": 50, "mode": 0o666, "wantPID": 0},
    ),
    (R.IReactorUNIX, "connectUNIX"): (
        ["address", "factory", "timeout", "checkPID"],
        {"timeout": 30, "checkPID": 0},
    ),
    (R.IReactorSocket, "adoptStreamPort"): (["fileDescriptor", "addressFamily", "factory"], {}),
    (R.IReactorSocket, "adoptStreamConnection"): (
        ["fileDescriptor", "addressFamily", "factory"],
        {},
    ),
    (R.IReactorUDP, "listenUDP"): (
        ["port", "protocol", "interface", "maxPacketSize"],
        {"interface": "", "maxPacketSize": 8192},
    ),
    (R.IReactorMulticast, "listenMulticast"): (
        ["port", "protocol", "interface", "maxPacketSize", "listenMultiple"],
        {"listenMultiple": False},
    ),
    (R.IReactorProcess, "spawnProcess"): (
        [
            "processProtocol",
            "executable",
            "args",
            "env",
            "path",
            "uid",
            "gid",
            "usePTY",
            "childFDs",
        ],
        {"usePTY": False, "childFDs": None},
    ),
    (R.IHostnameResolver, "resolveHostName"): (
        ["resolutionReceiver", "hostName", "portNumber", "addressTypes", "transportSemantics"],
        {"portNumber": 0, "addressTypes": None, "transportSemantics": "TCP"},
    ),
}


@pytest.mark.parametrize("key", list(SIGNATURES), ids=lambda k: f"{k[0].__name__}.{k[1]}")
def test_signature(key: tuple[type, str]) -> None:
    """Each method has Twisted's parameters in Twisted's order, with its defaults."""
    iface, method = key
    names, defaults = SIGNATURES[key]
    params = list(inspect.signature(getattr(iface, method)).parameters.values())[1:]
    assert [p.name for p in params] == names
    for name, default in defaults.items():
        assert next(p for p in params if p.name == name).default == default


def test_backends_match_core_signatures() -> None:
    """The reactor classes implement the core methods with the interface's parameters."""
    for method in ("run", "iterate", "addSystemEventTrigger", "resolve", "callLater"):
        iface = R.IReactorTime if method == "callLater" else R.IReactorCore
        want = [p.name for p in inspect.signature(getattr(iface, method)).parameters.values()]
        got = [
            p.name for p in inspect.signature(getattr(R.EPollReactor, method)).parameters.values()
        ]
        assert got == want, method


def test_fdset_methods() -> None:
    """IReactorFDSet and the descriptor interfaces carry Twisted's method names."""
    for name in (
        "addReader",
        "addWriter",
        "removeReader",
        "removeWriter",
        "removeAll",
        "getReaders",
        "getWriters",
    ):
        assert hasattr(R.IReactorFDSet, name) and hasattr(R.SelectReactor, name)
    for name in ("fileno", "doRead", "connectionLost", "logPrefix"):
        assert hasattr(R.IReadDescriptor, name)
    assert hasattr(R.IWriteDescriptor, "doWrite")
    for name in ("getThreadPool", "callInThread", "callFromThread", "suggestThreadPoolSize"):
        assert hasattr(R.IReactorThreads, name) and hasattr(R.PollReactor, name)
    for name in ("installResolver", "installNameResolver", "nameResolver"):
        assert hasattr(R.IReactorPluggableResolver, name) and hasattr(R.EPollReactor, name)
