"""Figure 2 of "Network Programming for the Rest of Us" (2003): an echo server.

The paper's Twisted program with only its import lines changed; it echoes every byte it gets
on TCP port 8000. One addition: a port number may be given as the first argument (the tests
use it to pick a free port), so the literal 8000 became ``port``.

    python examples/echoserv.py [port]      # then: nc localhost 8000
"""

import sys

from plait import protocol
from plait.app import reactor

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


factory = protocol.ServerFactory()
factory.protocol = Echo
reactor.listenTCP(port, factory)
reactor.run()
