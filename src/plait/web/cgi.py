"""CGI/1.1 (RFC 3875; paper §6.2.1): run scripts as resources.

- ``CGIScript(filename, reactor=None, interpreter=None)``: runs the script per request with
  the RFC's meta-variables (``GATEWAY_INTERFACE``, ``SERVER_*``, ``REQUEST_METHOD``,
  ``SCRIPT_NAME``, ``PATH_INFO``, ``QUERY_STRING``, ``REMOTE_ADDR``, ``CONTENT_TYPE``,
  ``CONTENT_LENGTH``, ``HTTP_*``), the request body on stdin; the script's header block
  (``Status:``, ``Location:``, ``Content-Type:``...) becomes the response head and its body is
  streamed to the client as it arrives. The reactor is ``reactor`` or the ``Site``'s.
- ``CGIDirectory(path, reactor=None, interpreter=None)``: each file under ``path`` is a script.
- ``cgiEnvironment(request, filename)``: the environment a script gets.

Security: ``Authorization``/``Proxy-Authorization`` are not passed; a ``Proxy`` request header
never becomes ``HTTP_PROXY`` (httpoxy); header names with underscores are dropped; the
script's environment holds only the meta-variables and ``PATH``. ``CGIDirectory`` refuses
dot-names and paths that resolve outside it (403).

Errors: a script that ends without a header block, writes a malformed one or one over
``CGIProcessProtocol.maxHeaderBytes`` (64 KiB) is logged with its stderr and answered 500; a
script that exits non-zero after its headers is logged (the response is already on its way).
A client that goes away kills the script.
"""

from plait.web._cgi import CGIDirectory, CGIProcessProtocol, CGIScript, cgiEnvironment

__all__ = ["CGIDirectory", "CGIProcessProtocol", "CGIScript", "cgiEnvironment"]
