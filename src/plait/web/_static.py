"""``File``: serve a directory tree (files, listings, ranges, conditional requests).

Nothing outside the root is served: each path segment (already percent-decoded) that is
``.``, ``..`` or holds ``/``, ``\\`` or NUL is a 404, and every path is resolved with
``os.path.realpath`` and must stay inside the resolved root, so symlinks that leave it are
404 too. Names starting with ``.`` (``.git/``, ``.env``, ``.htpasswd``) are neither listed
nor served (404) unless ``showHidden=True``. Large bodies stream through a pull producer in 64 KiB reads (bounded memory).
"""

from __future__ import annotations

import mimetypes
import os
from email.utils import formatdate, parsedate_to_datetime
from html import escape
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from plait.log import Logger
from plait.web._resource import NOT_DONE_YET, ErrorPage, NoResource, Resource

if TYPE_CHECKING:
    from plait.web._server import Request

__all__ = ["File", "parseRange"]

_log = Logger("plait.web")
CHUNK = 64 * 1024
_BOUNDARY = b"plait-byteranges-3c1f"


def parseRange(header: bytes, size: int) -> list[tuple[int, int]] | None:
    """Satisfiable (start, stop) ranges of ``bytes=...`` for a body of ``size`` bytes.

    Returns None when the header is malformed (it is then ignored, RFC 9110 14.2), and an
    empty list when no range is satisfiable (416). At most 16 ranges.
    """
    unit, sep, spec = header.partition(b"=")
    if not sep or unit.strip().lower() != b"bytes":
        return None
    ranges: list[tuple[int, int]] = []
    parts = spec.split(b",")
    if len(parts) > 16:
        return None
    for part in parts:
        first, dash, last = part.strip().partition(b"-")
        if not dash:
            return None
        if not (first.isdigit() or not first) or not (last.isdigit() or not last):
            return None
        if not first:
            if not last:
                return None
            suffix = int(last)
            if suffix == 0:
                continue
            ranges.append((max(0, size - suffix), size))
            continue
        start = int(first)
        stop = int(last) + 1 if last else size
        if last and stop <= start:
            return None
        if start >= size:
            continue
        ranges.append((start, min(stop, size)))
    return ranges


class _FileProducer:
    """Pull producer: writes (prefix, offset, length) segments of a file, then finishes."""

    def __init__(
        self, request: Request, f: IO[bytes], segments: list[tuple[bytes, int, int]], end: bytes
    ) -> None:
        self.request = request
        self.file = f
        self.segments = segments
        self.end = end
        self.index = 0
        self.left = -1

    def start(self) -> None:
        self.request.registerProducer(self, False)

    def resumeProducing(self) -> None:
        request = self.request
        if self.file.closed:
            return
        while self.index < len(self.segments):
            prefix, offset, length = self.segments[self.index]
            if self.left < 0:
                self.file.seek(offset)
                self.left = length
                if prefix:
                    request.write(prefix)
            if self.left > 0:
                data = self.file.read(min(CHUNK, self.left))
                if not data:  # the file shrank under us
                    self.stopProducing()
                    request.unregisterProducer()
                    request.channel.transport.abortConnection()  # type: ignore[union-attr]
                    return
                self.left -= len(data)
                request.write(data)
                if self.left > 0:
                    return
            self.index += 1
            self.left = -1
        if self.end:
            request.write(self.end)
        self.file.close()
        request.unregisterProducer()
        request.finish()

    def pauseProducing(self) -> None:
        """Nothing to do for a pull producer."""

    def stopProducing(self) -> None:
        self.file.close()


class File(Resource):
    """Serve the file or directory ``path`` and everything under it (see the module doc).

    ``showHidden=True`` lists and serves names starting with ``.``, hidden (404) by default.
    """

    indexNames = ["index.html"]
    defaultType = "application/octet-stream"
    smallFile = CHUNK

    def __init__(
        self,
        path: str | os.PathLike[str],
        defaultType: str | None = None,
        showHidden: bool = False,
    ) -> None:
        super().__init__()
        self.path = os.path.abspath(os.fspath(path))
        self.root = os.path.realpath(self.path)
        self.showHidden = showHidden
        if defaultType is not None:
            self.defaultType = defaultType

    def _child(self, path: str) -> File:
        child = File.__new__(type(self))
        Resource.__init__(child)
        child.path = path
        child.root = self.root
        child.indexNames = self.indexNames
        child.defaultType = self.defaultType
        child.showHidden = self.showHidden
        return child

    def _contained(self, path: str) -> bool:
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root.rstrip(os.sep) + os.sep)

    def getChild(self, path: bytes, request: Request) -> Resource:
        """The file or directory ``path`` inside this one; 404 for anything unsafe."""
        if path == b"":
            return self if os.path.isdir(self.path) else NoResource()
        if path in (b".", b"..") or any(c in path for c in (b"/", b"\\", b"\0")):
            return NoResource()
        if path.startswith(b".") and not self.showHidden:
            return NoResource()  # .git/config, .env: a common leak when serving a checkout
        try:
            name = os.fsdecode(path)
        except UnicodeDecodeError:
            return NoResource()
        if not os.path.isdir(self.path):
            return NoResource()
        child = os.path.join(self.path, name)
        if not self._contained(child) or not os.path.exists(child):
            return NoResource()
        return self._child(child)

    def render_GET(self, request: Request) -> Any:
        """The file (with ranges and conditions) or the directory's index or listing."""
        if not self._contained(self.path):
            return NoResource().render(request)
        if os.path.isdir(self.path):
            if not request.path.endswith(b"/"):
                request.setResponseCode(301)
                request.setHeader(b"location", request.path + b"/")
                return b""
            for index in self.indexNames:
                candidate = os.path.join(self.path, index)
                if os.path.isfile(candidate) and self._contained(candidate):
                    return self._child(candidate).render_GET(request)
            return self._listing(request)
        try:
            f = open(self.path, "rb")  # noqa: SIM115 (closed by the producer or below)
        except OSError:
            return NoResource().render(request)
        try:
            return self._renderFile(request, f)
        except BaseException:
            f.close()
            raise

    def _renderFile(self, request: Request, f: IO[bytes]) -> Any:
        st = os.fstat(f.fileno())
        size = st.st_size
        mtime = int(st.st_mtime)
        etag = b'"%x-%x"' % (size, st.st_mtime_ns)
        ctype, encoding = mimetypes.guess_type(self.path)
        request.setHeader(b"last-modified", formatdate(mtime, usegmt=True))
        request.setHeader(b"etag", etag)
        request.setHeader(b"accept-ranges", b"bytes")
        if self._notModified(request, etag, mtime):
            f.close()
            request.setResponseCode(304)
            return b""
        ctype = ctype or self.defaultType
        if ctype.startswith("text/") and "charset" not in ctype:
            ctype += "; charset=utf-8"
        request.setHeader(b"content-type", ctype)
        if encoding:
            request.setHeader(b"content-encoding", encoding)
        segments: list[tuple[bytes, int, int]] = [(b"", 0, size)]
        end = b""
        rangeHeader = request.getHeader(b"range")
        ifRange = request.getHeader(b"if-range")
        if rangeHeader is not None and (ifRange is None or ifRange == etag):
            ranges = parseRange(rangeHeader, size)
            if ranges is not None:
                if not ranges:
                    f.close()
                    request.setResponseCode(416)
                    request.setHeader(b"content-range", b"bytes */%d" % size)
                    request.responseHeaders.removeHeader(b"content-type")
                    return b""
                request.setResponseCode(206)
                if len(ranges) == 1:
                    start, stop = ranges[0]
                    request.setHeader(b"content-range", b"bytes %d-%d/%d" % (start, stop - 1, size))
                    segments = [(b"", start, stop - start)]
                else:
                    segments = []
                    for start, stop in ranges:
                        prefix = (
                            b"\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n"
                            % (
                                _BOUNDARY,
                                ctype.encode("latin-1"),
                                start,
                                stop - 1,
                                size,
                            )
                        )
                        segments.append((prefix, start, stop - start))
                    end = b"\r\n--%s--\r\n" % _BOUNDARY
                    request.setHeader(
                        b"content-type", b"multipart/byteranges; boundary=" + _BOUNDARY
                    )
        length = sum(len(p) + n for p, _, n in segments) + len(end)
        if request.method == b"HEAD" or length <= self.smallFile:
            if request.method == b"HEAD":
                f.close()
                request.setHeader(b"content-length", b"%d" % length)
                return b""
            parts = []
            for prefix, offset, n in segments:
                f.seek(offset)
                parts.append(prefix + f.read(n))
            f.close()
            return b"".join(parts) + end
        request.setHeader(b"content-length", b"%d" % length)
        _FileProducer(request, f, segments, end).start()
        return NOT_DONE_YET

    @staticmethod
    def _notModified(request: Request, etag: bytes, mtime: int) -> bool:
        ifNoneMatch = request.getHeader(b"if-none-match")
        if ifNoneMatch is not None:
            tags = [t.strip().removeprefix(b"W/") for t in ifNoneMatch.split(b",")]
            return b"*" in tags or etag in tags
        since = request.getHeader(b"if-modified-since")
        if since is not None:
            try:
                when = parsedate_to_datetime(since.decode("latin-1")).timestamp()
            except (TypeError, ValueError, IndexError):
                return False
            return mtime <= when
        return False

    def _listing(self, request: Request) -> bytes:
        try:
            names = sorted(os.listdir(self.path))
        except OSError:
            return ErrorPage(403, "Forbidden", "The directory cannot be listed.").render(request)
        title = escape(request.path.decode("utf-8", "replace"))
        rows = []
        for name in names:
            if name.startswith(".") and not self.showHidden:
                continue
            full = os.path.join(self.path, name)
            if not self._contained(full):
                continue
            isDir = os.path.isdir(full)
            shown = escape(name + ("/" if isDir else ""))
            href = quote(name, errors="surrogateescape") + ("/" if isDir else "")
            rows.append(f'<li><a href="{escape(href)}">{shown}</a></li>')
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return (
            f"<!DOCTYPE html><html><head><title>Index of {title}</title></head>"
            f"<body><h1>Index of {title}</h1><ul>{''.join(rows)}</ul></body></html>\n"
        ).encode("utf-8", "surrogateescape")
