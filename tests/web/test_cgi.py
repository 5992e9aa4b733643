"""plait.web.cgi over an in-memory site with a fake process reactor (no real processes)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from plait.defer import Failure
from plait.protocol import ProcessDone, ProcessTerminated
from plait.testing import flushLoggedErrors
from plait.web.cgi import CGIDirectory, CGIScript

from .support import Served


class FakeProcess:
    """The transport a fake spawnProcess hands the protocol."""

    def __init__(self) -> None:
        self.stdin = b""
        self.stdinClosed = False
        self.signals: list[str | int] = []

    def write(self, data: bytes) -> None:
        """Collect what is written to the script's stdin."""
        self.stdin += data

    def closeStdin(self) -> None:
        """Remember that stdin was closed."""
        self.stdinClosed = True

    def signalProcess(self, signal: str | int) -> None:
        """Remember signals sent."""
        self.signals.append(signal)

    def pauseProducing(self) -> None:
        """Remember the pause."""
        self.signals.append("pause")

    def resumeProducing(self) -> None:
        """Remember the resume."""
        self.signals.append("resume")

    def stopProducing(self) -> None:
        """Remember the stop."""
        self.signals.append("stop")


class ProcessReactor:
    """Records spawnProcess calls and connects the protocol to a FakeProcess."""

    def __init__(self) -> None:
        self.spawned: list[dict[str, Any]] = []

    def spawnProcess(
        self, protocol: Any, executable: str, args: Any, env: Any, path: Any = None
    ) -> FakeProcess:
        """Start nothing; connect ``protocol`` to a fake transport."""
        process = FakeProcess()
        self.spawned.append(
            {
                "protocol": protocol,
                "executable": executable,
                "args": args,
                "env": env,
                "path": path,
                "process": process,
            }
        )
        protocol.makeConnection(process)
        return process


def served(
    tmp_path: Path,
    headers: bytes = b"",
    body: bytes = b"",
    method: bytes = b"GET",
    target: bytes = b"/cgi-bin/s.cgi/extra/p?q=1&r=2",
) -> tuple[Served, dict[str, Any], ProcessReactor]:
    """A site with /cgi-bin/ as a CGIDirectory; one request sent; returns the spawn record."""
    script = tmp_path / "s.cgi"
    script.write_text("#!/bin/sh\n")
    from plait.web import Resource

    root = Resource()
    reactor = ProcessReactor()
    root.putChild(b"cgi-bin", CGIDirectory(str(tmp_path), reactor))
    s = Served(root)
    length = b"Content-Length: %d\r\n" % len(body) if body or method == b"POST" else b""
    s.send(
        method
        + b" "
        + target
        + b" HTTP/1.1\r\nHost: example.com:8080\r\n"
        + length
        + headers
        + b"\r\n"
        + body
    )
    return s, reactor.spawned[-1], reactor


def test_environment(tmp_path: Path) -> None:
    """The RFC 3875 meta-variables are set from the request."""
    _, spawn, _ = served(tmp_path, headers=b"X-Thing: 1\r\nCookie: c=d\r\n")
    env = spawn["env"]
    assert spawn["executable"] == str(tmp_path / "s.cgi") and spawn["path"] == str(tmp_path)
    expected = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "plait",
        "SERVER_NAME": "example.com",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "/cgi-bin/s.cgi",
        "PATH_INFO": "/extra/p",
        "QUERY_STRING": "q=1&r=2",
        "HTTP_X_THING": "1",
        "HTTP_COOKIE": "c=d",
        "HTTP_HOST": "example.com:8080",
    }
    assert {k: env.get(k) for k in expected} == expected
    assert "SERVER_PORT" in env and "REMOTE_ADDR" in env and "CONTENT_LENGTH" not in env


def test_hidden_headers_and_httpoxy(tmp_path: Path) -> None:
    """Authorization and Proxy never reach the environment; underscore names are dropped."""
    _, spawn, _ = served(
        tmp_path,
        headers=b"Authorization: Basic eA==\r\nProxy: http://evil:1/\r\nX_Under: 1\r\n",
    )
    env = spawn["env"]
    assert "HTTP_PROXY" not in env and "HTTP_AUTHORIZATION" not in env
    assert "HTTP_X_UNDER" not in env
    assert not any(v == "http://evil:1/" for v in env.values())


def test_post_body_on_stdin(tmp_path: Path) -> None:
    """The request body is written to stdin, which is then closed; type and length are set."""
    _, spawn, _ = served(tmp_path, b"Content-Type: text/plain\r\n", b"hello body", b"POST")
    assert spawn["process"].stdin == b"hello body" and spawn["process"].stdinClosed
    assert spawn["env"]["CONTENT_LENGTH"] == "10" and spawn["env"]["CONTENT_TYPE"] == "text/plain"
    spawn["protocol"].outReceived(b"Content-Type: text/plain\n\n")
    spawn["protocol"].processEnded(Failure(ProcessDone(0)))


def test_output_streamed(tmp_path: Path) -> None:
    """Headers are parsed; body chunks are written as they arrive; exit finishes."""
    s, spawn, _ = served(tmp_path)
    protocol = spawn["protocol"]
    protocol.outReceived(b"Content-Type: text/plain\r\nX-A: b\r")
    assert s.transport.value() == b""
    protocol.outReceived(b"\n\r\nfirst ")
    assert b"first " in s.transport.value()
    protocol.outReceived(b"second")
    protocol.processEnded(Failure(ProcessDone(0)))
    [(status, headers, body)] = s.responses()
    assert (status, headers["content-type"], headers["x-a"], body) == (
        200,
        "text/plain",
        "b",
        b"first second",
    )


def test_output_paced_by_client(tmp_path: Path) -> None:
    """The script is the response's streaming producer until it ends."""
    s, spawn, _ = served(tmp_path)
    assert s.transport.producer is spawn["process"] and s.transport.streaming
    spawn["protocol"].outReceived(b"Content-Type: text/plain\n\nx")
    spawn["protocol"].processEnded(Failure(ProcessDone(0)))
    assert s.transport.producer is None


def test_status_header(tmp_path: Path) -> None:
    """Status: sets the response code and message (bare LF line ends accepted)."""
    s, spawn, _ = served(tmp_path)
    spawn["protocol"].outReceived(b"Status: 404 Gone Away\nContent-Type: text/plain\n\nnope")
    spawn["protocol"].processEnded(Failure(ProcessDone(0)))
    assert s.responses()[0][0] == 404 and b"404 Gone Away" in s.transport.value()


def test_location_redirect(tmp_path: Path) -> None:
    """Location: without Status is a 302."""
    s, spawn, _ = served(tmp_path)
    spawn["protocol"].outReceived(b"Location: http://example.com/x\n\n")
    spawn["protocol"].processEnded(Failure(ProcessDone(0)))
    [(status, headers, _)] = s.responses()
    assert status == 302 and headers["location"] == "http://example.com/x"


def test_no_headers_is_500(tmp_path: Path) -> None:
    """A script that exits before its header block is a logged 500 with stderr."""
    s, spawn, _ = served(tmp_path)
    spawn["protocol"].errReceived(b"syntax error near line 3")
    spawn["protocol"].processEnded(Failure(ProcessTerminated(2, None, 512)))
    assert s.responses()[0][0] == 500


def test_failure_logged_with_stderr(tmp_path: Path) -> None:
    """The log event for a failed script includes its stderr."""
    from plait.log import globalLogPublisher

    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        s, spawn, _ = served(tmp_path)
        spawn["protocol"].errReceived(b"kaboom")
        spawn["protocol"].processEnded(Failure(ProcessTerminated(1, None, 256)))
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert any(e.get("stderr") == "kaboom" for e in events)
    assert s.responses()[0][0] == 500
    flushLoggedErrors()


def test_header_block_bounded(tmp_path: Path) -> None:
    """A header block over the limit kills the script and answers 500."""
    s, spawn, _ = served(tmp_path)
    spawn["protocol"].outReceived(b"X: " + b"a" * (70 * 1024))
    assert spawn["process"].signals == ["KILL"]
    assert s.responses()[0][0] == 500
    flushLoggedErrors()


def test_malformed_header_is_500(tmp_path: Path) -> None:
    """A header line without a colon is a 500."""
    s, spawn, _ = served(tmp_path)
    spawn["protocol"].outReceived(b"not a header\n\nbody")
    assert s.responses()[0][0] == 500
    flushLoggedErrors()


def test_client_gone_kills_script(tmp_path: Path) -> None:
    """When the client disconnects the script is killed."""
    s, spawn, _ = served(tmp_path)
    s.channel.connectionLost(Failure(ConnectionError("gone")))
    assert "KILL" in spawn["process"].signals


def test_directory_traversal_refused(tmp_path: Path) -> None:
    """.., dot-files and symlinks leading outside the directory are refused."""
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "secret.cgi").write_text("#!/bin/sh\n")
    os.symlink(tmp_path / "secret.cgi", inner / "link.cgi")
    (inner / ".hidden").write_text("")
    from plait.web import Resource

    root = Resource()
    reactor = ProcessReactor()
    root.putChild(b"cgi-bin", CGIDirectory(str(inner), reactor))
    for target in (
        b"/cgi-bin/../secret.cgi",
        b"/cgi-bin/%2e%2e/secret.cgi",
        b"/cgi-bin/link.cgi",
        b"/cgi-bin/.hidden",
        b"/cgi-bin/..%2fsecret.cgi",
    ):
        s = Served(root)
        s.send(b"GET " + target + b" HTTP/1.1\r\nHost: h\r\n\r\n")
        assert s.responses()[0][0] in (403, 404), target
    assert reactor.spawned == []


def test_missing_script_404(tmp_path: Path) -> None:
    """A name that is not in the directory is 404."""
    _, _, reactor = served(tmp_path)
    s2 = Served(CGIDirectory(str(tmp_path), reactor))
    s2.send(b"GET /nothing HTTP/1.1\r\nHost: h\r\n\r\n")
    assert s2.responses()[0][0] == 404


def test_interpreter(tmp_path: Path) -> None:
    """With an interpreter the script is its argument."""
    reactor = ProcessReactor()
    s = Served(CGIScript(str(tmp_path / "x.py"), reactor, interpreter="/usr/bin/python3"))
    s.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert reactor.spawned[0]["args"] == ["/usr/bin/python3", str(tmp_path / "x.py")]


def test_head_has_no_body(tmp_path: Path) -> None:
    """For HEAD the script runs (REQUEST_METHOD=HEAD) but its body is not sent."""
    s, spawn, _ = served(tmp_path, method=b"HEAD", target=b"/cgi-bin/s.cgi")
    assert spawn["env"]["REQUEST_METHOD"] == "HEAD" and "PATH_INFO" not in spawn["env"]
    spawn["protocol"].outReceived(b"Content-Type: text/plain\n\nbody bytes")
    spawn["protocol"].processEnded(Failure(ProcessDone(0)))
    assert s.responses(["HEAD"])[0][0] == 200
    assert b"body bytes" not in s.transport.value()
