"""plait.web.static.File: files, listings, ranges, conditional requests, no escapes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plait.web.static import File, parseRange

from .support import Served


def get(root: Path, target: bytes, headers: bytes = b"", method: bytes = b"GET") -> Served:
    """Serve ``root`` and send one request for ``target``."""
    s = Served(File(root))
    s.send(b"%s %s HTTP/1.1\r\nHost: h\r\n%s\r\n" % (method, target, headers))
    return s


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A served tree with a file, a subdirectory, and a secret next to it."""
    (tmp_path / "www").mkdir()
    www = tmp_path / "www"
    (www / "hello.txt").write_bytes(b"0123456789" * 10)
    (www / "sub").mkdir()
    (www / "sub" / "index.html").write_bytes(b"<p>index</p>")
    (www / "empty").mkdir()
    (www / "<b>&.txt").write_bytes(b"x")
    (tmp_path / "secret.txt").write_bytes(b"SECRET")
    return www


def test_file_with_type_and_validators(root: Path) -> None:
    """A file is served with its MIME type, Content-Length, Last-Modified and ETag."""
    [(status, headers, body)] = get(root, b"/hello.txt").responses()
    assert (status, body) == (200, b"0123456789" * 10)
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-length"] == "100" and "last-modified" in headers
    assert headers["etag"].startswith('"') and headers["accept-ranges"] == "bytes"


def test_head(root: Path) -> None:
    """HEAD gives the headers (with the length) and no body."""
    s = get(root, b"/hello.txt", method=b"HEAD")
    raw = s.transport.value()
    assert b"Content-Length: 100\r\n" in raw and raw.endswith(b"\r\n\r\n")


def test_index_and_redirect(root: Path) -> None:
    """A directory without its slash redirects; with it, index.html is served."""
    [(status, headers, _)] = get(root, b"/sub").responses()
    assert (status, headers["location"]) == (301, "/sub/")
    assert get(root, b"/sub/").responses()[0][2] == b"<p>index</p>"


def test_listing_escaped(root: Path) -> None:
    """A listing HTML-escapes names and URL-quotes links."""
    [(status, headers, body)] = get(root, b"/").responses()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'href="%3Cb%3E%26.txt">&lt;b&gt;&amp;.txt</a>' in body
    assert b'href="sub/">sub/</a>' in body and b"<b>" not in body


def hidden(root: Path) -> Path:
    """Add a dotfile and a dot-directory (a checkout's ``.env`` and ``.git/config``)."""
    (root / ".env").write_bytes(b"TOKEN=1")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_bytes(b"[core]")
    (root / "sub" / ".htpasswd").write_bytes(b"u:pw")
    return root


def test_hidden_names_refused_and_unlisted(root: Path) -> None:
    """By default names starting with "." are 404 at any depth and left out of listings."""
    hidden(root)
    for target in (b"/.env", b"/.git/config", b"/.git/", b"/sub/.htpasswd", b"/%2eenv"):
        status, _, body = get(root, target).responses()[0]
        assert status == 404 and b"TOKEN" not in body and b"[core]" not in body, target
    [(status, _, body)] = get(root, b"/").responses()
    assert status == 200 and b'href="hello.txt"' in body
    assert b".env" not in body and b".git" not in body


def test_show_hidden(root: Path) -> None:
    """showHidden=True lists dotfiles and serves them, in subdirectories too."""
    hidden(root)

    def shown(target: bytes) -> tuple[int, bytes]:
        s = Served(File(root, showHidden=True))
        s.send(b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % target)
        status, _, body = s.responses()[0]
        return status, body

    assert shown(b"/.env") == (200, b"TOKEN=1")
    assert shown(b"/.git/config") == (200, b"[core]")
    status, listing = shown(b"/")
    assert status == 200 and b'href=".env">.env</a>' in listing
    assert b'href=".git/">.git/</a>' in listing
    assert shown(b"/..")[0] in (400, 404)


def test_single_range(root: Path) -> None:
    """Range bytes=0-9 gives 206 with Content-Range."""
    [(status, headers, body)] = get(root, b"/hello.txt", b"Range: bytes=10-19\r\n").responses()
    assert (status, body, headers["content-range"]) == (206, b"0123456789", "bytes 10-19/100")
    [(_, headers, body)] = get(root, b"/hello.txt", b"Range: bytes=-5\r\n").responses()
    assert body == b"56789" and headers["content-range"] == "bytes 95-99/100"


def test_multipart_ranges(root: Path) -> None:
    """Several ranges give multipart/byteranges with one part each."""
    [(status, headers, body)] = get(root, b"/hello.txt", b"Range: bytes=0-1,5-6\r\n").responses()
    assert status == 206 and headers["content-type"].startswith("multipart/byteranges")
    assert b"Content-Range: bytes 0-1/100\r\n\r\n01\r\n" in body
    assert b"Content-Range: bytes 5-6/100\r\n\r\n56\r\n" in body
    assert body.endswith(b"--\r\n") and int(headers["content-length"]) == len(body)


def test_unsatisfiable_range(root: Path) -> None:
    """A range past the end is 416 with bytes */size; a malformed one is ignored."""
    [(status, headers, _)] = get(root, b"/hello.txt", b"Range: bytes=500-\r\n").responses()
    assert (status, headers["content-range"]) == (416, "bytes */100")
    assert get(root, b"/hello.txt", b"Range: bytes=x-y\r\n").responses()[0][0] == 200


def test_parse_range() -> None:
    """parseRange clamps, drops unsatisfiable parts and rejects malformed specs."""
    assert parseRange(b"bytes=0-9", 5) == [(0, 5)]
    assert parseRange(b"bytes=-100", 5) == [(0, 5)]
    assert parseRange(b"bytes=9-", 5) == []
    assert parseRange(b"bytes=5-1", 10) is None and parseRange(b"items=0-1", 10) is None
    assert parseRange(b"bytes=" + b"0-1," * 20, 10) is None


def test_not_modified(root: Path) -> None:
    """If-None-Match with the ETag, or If-Modified-Since not older, gives 304."""
    [(_, headers, _)] = get(root, b"/hello.txt").responses()
    etag = headers["etag"].encode()
    s = get(root, b"/hello.txt", b"If-None-Match: " + etag + b"\r\n")
    assert s.responses(["GET"])[0][0] == 304
    lm = headers["last-modified"].encode()
    assert get(root, b"/hello.txt", b"If-Modified-Since: " + lm + b"\r\n").responses()[0][0] == 304
    old = b"If-Modified-Since: Thu, 01 Jan 1998 00:00:00 GMT\r\n"
    assert get(root, b"/hello.txt", old).responses()[0][0] == 200


TRAVERSALS = [
    b"/../secret.txt",
    b"/%2e%2e/secret.txt",
    b"/%2E%2E/secret.txt",
    b"/sub/..%2f..%2fsecret.txt",
    b"/..%2fsecret.txt",
    b"/..%5csecret.txt",
    b"/sub/%2e%2e/%2e%2e/secret.txt",
    b"/hello.txt%00.html",
    b"/%2fetc%2fpasswd",
    b"/.",
    b"http://h/../secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_traversal(root: Path, target: bytes) -> None:
    """Dot segments, encoded slashes and dots, backslashes and NUL never leave the root."""
    s = get(root, target)
    status, _, body = s.responses()[0]
    assert status in (400, 404) and b"SECRET" not in body


def test_symlink_out_of_root(root: Path) -> None:
    """A symlink pointing outside the root is 404 and left out of listings."""
    os.symlink(root.parent / "secret.txt", root / "link.txt")
    os.symlink(root.parent, root / "up")
    assert get(root, b"/link.txt").responses()[0][0] == 404
    assert get(root, b"/up/secret.txt").responses()[0][0] == 404
    assert b"link.txt" not in get(root, b"/").responses()[0][2]


def test_symlink_inside_root(root: Path) -> None:
    """A symlink to a file inside the root is served."""
    os.symlink(root / "hello.txt", root / "alias.txt")
    assert get(root, b"/alias.txt").responses()[0][0] == 200


def test_missing_and_file_as_directory(root: Path) -> None:
    """A missing name and a path below a file are 404."""
    assert get(root, b"/nope").responses()[0][0] == 404
    assert get(root, b"/hello.txt/x").responses()[0][0] == 404


def test_large_file_streams(root: Path) -> None:
    """A large file goes through a pull producer in 64 KiB reads and arrives whole."""
    data = os.urandom(300_000)
    (root / "big.bin").write_bytes(data)
    s = get(root, b"/big.bin")
    transport = s.transport
    assert transport.producer is not None and not transport.streaming
    for _ in range(20):
        if transport.producer is None:
            break
        before = len(transport.value())
        transport.producer.resumeProducing()
        assert len(transport.value()) - before <= 65536 + 1024  # one read (plus the head)
    [(status, headers, body)] = s.responses()
    assert (status, headers["content-type"], body) == (200, "application/octet-stream", data)


def test_large_range_streams(root: Path) -> None:
    """A large single range streams just that slice."""
    data = os.urandom(200_000)
    (root / "big.bin").write_bytes(data)
    s = get(root, b"/big.bin", b"Range: bytes=1000-150999\r\n")
    for _ in range(20):
        if s.transport.producer is None:
            break
        s.transport.producer.resumeProducing()
    assert s.responses()[0][2] == data[1000:151000]


def test_disconnect_stops_producer(root: Path) -> None:
    """When the client goes, the producer is stopped and the file closed."""
    (root / "big.bin").write_bytes(b"x" * 300_000)
    s = get(root, b"/big.bin")
    producer = s.transport.producer
    s.channel.connectionLost(None)  # type: ignore[arg-type]
    assert producer.file.closed
