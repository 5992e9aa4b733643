"""plait: a modern, fast, typed event-driven networking framework.

The packages, from the bottom layer up (a layer imports only from layers below it):

- ``plait.log``: structured logging (L0)
- ``plait.wire``: sans-IO protocol state machines (L0)
- ``plait.defer``: ``Deferred``, ``Failure`` and friends (L1)
- ``plait.protocol``: ``Protocol``, ``Factory`` and the transport interfaces (L2)
- ``plait.reactor``, ``plait.tls``, ``plait.task``: the event loop and its services (L3)
- ``plait.endpoints``: endpoints and endpoint strings (L4)
- ``plait.protocols``, ``plait.auth``: reusable protocols and authentication (L5)
- frameworks (``web``, ``ssh``, ``mail``, ...) (L6) and ``plait.app`` (L7)
- ``plait.testing``: fakes and test helpers; no library module imports it

Importing any plait module has no side effects: there is no global reactor until a script asks
for one through ``plait.app``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
