"""Figures 5 (SOAP add) and 6 (XML-RPC server) run as subprocesses and called by real clients."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(name: str) -> Iterator[int]:
    """Run examples/``name`` on a free port until it accepts connections; yield the port."""
    for _ in range(3):  # the free port may be taken again before the server binds it
        port = _freePort()
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / name), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            try:
                yield port
            finally:
                proc.terminate()
                try:
                    proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
            return
        proc.communicate()
    pytest.fail(f"{name} did not start")


@pytest.fixture
def soapPort() -> Iterator[int]:
    """Figure 5's server."""
    yield from _serve("soap_add.py")


@pytest.fixture
def xmlrpcPort() -> Iterator[int]:
    """Figure 6's server."""
    yield from _serve("xmlrpc_server.py")


def test_figure6_xmlrpc(xmlrpcPort: int) -> None:
    """xmlrpc.client calls add and echo on Figure 6's server."""
    with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{xmlrpcPort}/") as proxy:
        assert proxy.add(1, 2) == 3
        assert proxy.echo(["a", {"b": 1.5}]) == ["a", {"b": 1.5}]
        with pytest.raises(xmlrpc.client.Fault):
            proxy.nope()


def test_figure5_soap_raw(soapPort: int) -> None:
    """A raw SOAP-encoded POST to Figure 5's server gets addResponse with Result 5."""
    body = (
        b'<?xml version="1.0"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        b' xmlns:xsd="http://www.w3.org/2001/XMLSchema"><e:Body><add>'
        b'<a xsi:type="xsd:int">2</a><b xsi:type="xsd:int">3</b></add></e:Body></e:Envelope>'
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{soapPort}/", data=body, headers={"Content-Type": "text/xml"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        out = response.read()
    assert b"addResponse" in out and b'<Result xsi:type="xsd:int">5</Result>' in out


def test_figure5_soap_zeep(soapPort: int) -> None:
    """zeep calls Figure 5's untyped add through the generated WSDL (anyType arguments)."""
    zeep = pytest.importorskip("zeep")
    client = zeep.Client(f"http://127.0.0.1:{soapPort}/?wsdl")
    xsd = zeep.xsd
    anyInt = zeep.xsd.AnyObject(xsd.Int(), 2)
    result = client.service.add(anyInt, zeep.xsd.AnyObject(xsd.Int(), 40))
    client.transport.session.close()
    assert result == 42
