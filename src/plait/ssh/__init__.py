"""SSH on the reactor (paper §8): the adapters that drive ``plait.wire.ssh``'s machines.

Public modules (each with its own ``__all__``; nothing is re-exported here, so importing
``plait.ssh`` loads no cryptography):

- ``plait.ssh.transport``: ``SSHServerTransport``/``SSHClientTransport`` (``Protocol``s over TCP),
  ``SSHServerFactory``/``SSHClientFactory``; timers (login grace, rekey, kex timeout),
  ``maxStartups``.
- ``plait.ssh.service``: the transport/service contract (``SSHService``, ``ISSHTransport``).
- ``plait.ssh.userauth``: ``SSHUserAuthServer`` (through a ``plait.auth.Portal``; attempt limits,
  failure delays, ``FailureLimiter``) and ``SSHUserAuthClient``.
- ``plait.ssh.connection``: ``SSHConnection`` and ``SSHChannel`` (windows as flow control; any
  ``Protocol`` runs over a channel with ``connectProtocolToChannel``).
- ``plait.ssh.session``: avatars (``ConchUser`` for in-process applications, ``UnixConchUser``
  running shells and commands under a user's uid with PTYs) and client sessions.
- ``plait.ssh.forwarding``: ``direct-tcpip`` and ``tcpip-forward``, both roles.
- ``plait.ssh.sftp``: SFTP v3 server (``FileTransferServer``, ``UnixSFTPFileSystem``) and
  client (``FileTransferClient``).
- ``plait.ssh.client``: ``connect(...)`` and ``SSHCommandClientEndpoint``.
- ``plait.ssh.manhole``: a Python prompt into a running process, with line editing.

Needs ``pip install 'plait[ssh]'``. The commands are ``plait sshd``, ``plait ssh``,
``plait sftp``, ``plait keygen`` and ``plait manhole``.
"""
