"""SOAP 1.1 (paper §6.2.1, Figure 5): publish ``soap_NAME`` methods with ``SOAPPublisher``.

RPC style as SOAP toolkits of the paper's era spoke it: the Body's first element names the
method, its children are the arguments (matched by name when every name is a parameter, else
by position), typed by ``xsi:type`` (int, double, string, boolean, base64, SOAP-ENC arrays,
structs) or, without one, by the method's type annotations. Multi-reference values
(``href="#id"``) are resolved, each decoded once; cycles are refused. The answer is
``<NAMEResponse><Result>...</Result></NAMEResponse>`` in the call's namespace.

``GET URL?wsdl`` serves a WSDL 1.1 (document/literal wrapped) generated from the ``soap_``
methods' annotations (``int``, ``float``, ``str``, ``bool``, ``bytes``, ``list[X]``,
``X | None``), so zeep and suds can call the service.

Errors: raise ``SOAPFault(faultcode, faultstring, detail=None)`` to answer with a fault. An
unknown method, unparseable XML, a DOCTYPE/entity declaration or bad arguments are ``Client``
faults; another exception in a method is logged and sent as a ``Server`` fault; every fault is
HTTP 500. A body over ``SOAPPublisher.maxBodySize`` (10 MiB) is answered 413.
"""

from plait.web._soap import SOAPFault, SOAPPublisher, generateWSDL

__all__ = ["SOAPFault", "SOAPPublisher", "generateWSDL"]
