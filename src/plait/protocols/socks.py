"""A SOCKSv4/4a/5 proxy server (paper Table 1; RFC 1928, RFC 1929): ``plait socks``.

- ``SOCKSFactory(reactor, allow=(), users=None, handshakeTimeout=30.0)``: never an open
  proxy. A destination is refused unless an ``allow`` network contains it; names (SOCKS4a,
  SOCKS5 domain names) are resolved through ``reactor.resolve`` (off the loop) and the result
  is checked. With ``users`` (``parseUsers`` reads ``user:password`` lines) SOCKS5 clients must
  authenticate (passwords compared with ``hmac.compare_digest``) and SOCKS4 is refused.
- ``SOCKSServer``: only CONNECT; BIND and UDP ASSOCIATE are refused (SOCKS5 reply 7 "command
  not supported", SOCKS4 reply 91). After the grant the two connections are relayed with
  backpressure both ways (``plait.protocols.portforward.relay``).

Errors: none raised to callers. Refusals (no rule, failed resolution or connect, failed
authentication, handshake timeout, malformed request) are logged at info level and answered
with the protocol's reply code, then the connection is closed.
"""

from plait.protocols._socks import SOCKSFactory, SOCKSServer, parseUsers

__all__ = ["SOCKSFactory", "SOCKSServer", "parseUsers"]
