"""Figure 6 of "Network Programming for the Rest of Us" (2003): a simple XML-RPC server.

The paper's Twisted program with only its import lines changed. One addition: a port number
may be given as the first argument (the tests use it to pick a free port), so the literal 8080
became ``port``.

    python examples/xmlrpc_server.py [port]
    python -c "import xmlrpc.client as x; print(x.ServerProxy('http://localhost:8080/').add(1, 2))"
"""

import sys

from plait.app import reactor
from plait.web import server, xmlrpc

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080


class MyProc(xmlrpc.XMLRPC):
    def xmlrpc_add(self, a, b):
        return a + b

    def xmlrpc_echo(self, x):
        return x


reactor.listenTCP(port, server.Site(MyProc()))
reactor.run()
