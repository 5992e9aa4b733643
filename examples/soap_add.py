"""Figure 5 of "Network Programming for the Rest of Us" (2003): a SOAP server publishing add.

The paper's Twisted program with only its import lines changed. One addition: a port number
may be given as the first argument (the tests use it to pick a free port), so the literal 8080
became ``port``. The WSDL is at http://localhost:8080/?wsdl (untyped arguments appear there
as xsd:anyType; annotate ``a: int, b: int`` for typed clients such as zeep).

    python examples/soap_add.py [port]
"""

import sys

from plait.app import reactor
from plait.web import server, soap

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080


class MySOAP(soap.SOAPPublisher):
    def soap_add(self, a, b):
        return a + b


reactor.listenTCP(port, server.Site(MySOAP()))
reactor.run()
