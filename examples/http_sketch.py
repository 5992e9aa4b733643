"""Figure 7 of "Network Programming for the Rest of Us" (2003): a sketch of an HTTP protocol.

Reconstructed: the paper elides the figure's body (only its first import and its last lines,
``...self.req)`` / ``self.setLineMode(self.req.extraContent())``, survive), so this is written
from the text around it, in Twisted's classic style: the request line and headers are read in
line mode, a Content-Length body in raw mode, and whatever followed the body goes back to line
mode with ``setLineMode(extra)``. The import lines are the only ones changed from Twisted.
The port may be given as the first argument (default 8080).

    python examples/http_sketch.py [port]
    curl -d 'hello' http://localhost:8080/echo
"""

import sys

from plait import protocol
from plait.app import reactor
from plait.protocols.framing import LineReceiver

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080


class Request:
    def __init__(self, method, uri, version):
        self.method = method
        self.uri = uri
        self.version = version
        self.headers = {}
        self.length = 0
        self.content = b""
        self.extra = b""

    def gotHeader(self, line):
        name, value = line.split(b":", 1)
        self.headers[name.strip().lower()] = value.strip()

    def handleContent(self, data):
        missing = self.length - len(self.content)
        self.content += data[:missing]
        self.extra = data[missing:]

    def done(self):
        return len(self.content) == self.length

    def extraContent(self):
        return self.extra


class HTTP(LineReceiver):
    req = None

    def lineReceived(self, line):
        if self.req is None:
            parts = line.split()
            if len(parts) != 3:
                self.sendError(b"400 Bad Request")
                return
            self.req = Request(*parts)
        elif line:
            if b":" not in line:
                self.sendError(b"400 Bad Request")
                return
            self.req.gotHeader(line)
        else:
            length = self.req.headers.get(b"content-length", b"0")
            if not length.isdigit():
                self.sendError(b"400 Bad Request")
                return
            self.req.length = int(length)
            if self.req.length:
                self.setRawMode()
            else:
                self.requestDone()

    def rawDataReceived(self, data):
        self.req.handleContent(data)
        if self.req.done():
            req = self.req
            self.requestDone()
            self.setLineMode(req.extraContent())

    def requestDone(self):
        req, self.req = self.req, None
        body = b"%s %s: %d bytes: %s" % (req.method, req.uri, len(req.content), req.content)
        self.transport.write(
            b"HTTP/1.1 200 OK\r\n"
            b"Content-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        if req.version == b"HTTP/1.0" or req.headers.get(b"connection") == b"close":
            self.transport.loseConnection()

    def sendError(self, status):
        self.transport.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")
        self.transport.loseConnection()


factory = protocol.ServerFactory()
factory.protocol = HTTP
reactor.listenTCP(port, factory)
reactor.run()
