"""CGI scripts (sh and python) behind a real plait server, fetched with urllib."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from plait.reactor import defaultReactorClass
from plait.web import Resource, Site
from plait.web.cgi import CGIDirectory, CGIScript

ENV_SCRIPT = f"""#!{sys.executable}
import json, os, sys
body = sys.stdin.buffer.read()
print("Content-Type: application/json")
print()
keys = [k for k in os.environ if k != "PATH"]
print(json.dumps({{"env": {{k: os.environ[k] for k in keys}}, "body": body.decode()}}))
"""

STATUS_SCRIPT = """#!/bin/sh
printf 'Status: 418 I am a teapot\\r\\nContent-Type: text/plain\\r\\nX-Script: sh\\r\\n\\r\\n'
echo "short and stout"
"""

STREAM_SCRIPT = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
i=0
while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done
"""

BIG_SCRIPT = f"""#!{sys.executable}
import sys
sys.stdout.buffer.write(b"Content-Type: application/octet-stream\\r\\n\\r\\n")
for i in range(80):
    sys.stdout.buffer.write(bytes([65 + i % 26]) * 65536)
"""

BROKEN_SCRIPT = """#!/bin/sh
echo "oops" >&2
exit 3
"""


def _onReactor(reactor: Any, f: Callable[[], Any]) -> Any:
    future: Future[Any] = Future()

    def run() -> None:
        try:
            future.set_result(f())
        except BaseException as e:
            future.set_exception(e)

    reactor.callFromThread(run)
    return future.result(timeout=20)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A plait server with /cgi-bin/ (a CGIDirectory) and /env (a CGIScript)."""
    d = tmp_path_factory.mktemp("cgi-bin")
    for name, text in [
        ("env.py", ENV_SCRIPT),
        ("status.sh", STATUS_SCRIPT),
        ("stream.sh", STREAM_SCRIPT),
        ("broken.sh", BROKEN_SCRIPT),
        ("big.py", BIG_SCRIPT),
    ]:
        path = d / name
        path.write_text(text)
        path.chmod(0o755)
    reactor = defaultReactorClass()()
    root = Resource()
    root.putChild(b"cgi-bin", CGIDirectory(str(d)))
    root.putChild(b"env", CGIScript(str(d / "env.py")))
    thread = threading.Thread(
        target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
    )
    thread.start()
    port = _onReactor(
        reactor,
        lambda: reactor.listenTCP(0, Site(root, reactor, accessLog=False), interface="127.0.0.1"),
    )
    yield f"http://127.0.0.1:{port.getHost().port}"
    reactor.callFromThread(reactor.stop)
    thread.join(10)


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    """GET or POST ``url`` with urllib; returns the open response."""
    return urllib.request.urlopen(
        urllib.request.Request(url, data=data, headers=headers or {}), timeout=20
    )


def test_post_query_and_environment(base: str) -> None:
    """POST body on stdin, query string and path info reach the script; httpoxy is blocked."""
    with fetch(
        base + "/cgi-bin/env.py/more/path?x=1&y=two",
        data=b"the body",
        headers={"Content-Type": "text/plain", "Proxy": "http://evil.example:3128/"},
    ) as response:
        assert response.status == 200
        result = json.loads(response.read())
    env = result["env"]
    assert result["body"] == "the body"
    assert env["QUERY_STRING"] == "x=1&y=two" and env["PATH_INFO"] == "/more/path"
    assert env["SCRIPT_NAME"] == "/cgi-bin/env.py" and env["REQUEST_METHOD"] == "POST"
    assert env["CONTENT_LENGTH"] == "8" and env["CONTENT_TYPE"] == "text/plain"
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1" and env["REMOTE_ADDR"] == "127.0.0.1"
    assert "HTTP_PROXY" not in env


def test_cgi_script_resource(base: str) -> None:
    """A CGIScript mounted directly runs with SCRIPT_NAME of its mount point."""
    with fetch(base + "/env") as response:
        env = json.loads(response.read())["env"]
    assert env["SCRIPT_NAME"] == "/env" and env["REQUEST_METHOD"] == "GET"


def test_status_header(base: str) -> None:
    """A Status: header sets the HTTP status; other headers pass through."""
    with pytest.raises(urllib.error.HTTPError) as e:
        fetch(base + "/cgi-bin/status.sh")
    assert e.value.code == 418 and e.value.headers["X-Script"] == "sh"
    assert e.value.read() == b"short and stout\n"
    e.value.close()


def test_streamed_output(base: str) -> None:
    """A longer output arrives whole."""
    with fetch(base + "/cgi-bin/stream.sh") as response:
        lines = response.read().decode().splitlines()
    assert lines == [f"line {i}" for i in range(200)]


def test_big_output_slow_reader(base: str) -> None:
    """5 MiB of output reaches a client that reads slowly, intact and in order."""
    with fetch(base + "/cgi-bin/big.py") as response:
        time.sleep(0.5)  # let the socket buffers fill so the script's pipe gets paused
        data = response.read()
    expected = b"".join(bytes([65 + i % 26]) * 65536 for i in range(80))
    assert len(data) == len(expected) and data == expected


def test_broken_script_500(base: str) -> None:
    """A script that fails before its headers is a 500."""
    with pytest.raises(urllib.error.HTTPError) as e:
        fetch(base + "/cgi-bin/broken.sh")
    assert e.value.code == 500
    e.value.close()


def test_traversal(base: str) -> None:
    """An encoded .. cannot reach outside the directory."""
    with pytest.raises(urllib.error.HTTPError) as e:
        fetch(base + "/cgi-bin/%2e%2e/env")
    assert e.value.code in (403, 404)
    e.value.close()
