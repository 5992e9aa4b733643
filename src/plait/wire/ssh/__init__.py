"""SSH version 2 as sans-IO machines (RFC 4250-4256, 4344, 4419, 5656, 8308, 8709, 8731, 9142).

Nothing here reads a socket, a file or the clock: bytes and explicit calls go in, events and
bytes to send come out. The reactor adapters live in ``plait.ssh``.

Public modules:

- ``plait.wire.ssh.types``: the RFC 4251 data types (``SSHReader``/``SSHWriter``), message
  numbers, disconnect reasons.
- ``plait.wire.ssh.keys``: public and private keys, signatures, OpenSSH/PEM formats,
  OpenSSH certificates, ``known_hosts`` and ``authorized_keys`` lines, fingerprints.
- ``plait.wire.ssh.transport``: version exchange, binary packets, ciphers and MACs, key exchange,
  strict kex, ext-info, rekeying (RFC 4253).
- ``plait.wire.ssh.userauth``: user authentication, both roles (RFC 4252, 4256).
- ``plait.wire.ssh.connection``: channels, windows, global and channel requests (RFC 4254).
- ``plait.wire.ssh.sftp``: SFTP version 3 packets (and OpenSSH's extensions).

Errors: every machine raises ``plait.wire.LocalProtocolError`` when misused and
``plait.wire.RemoteProtocolError`` (or ``SSHDisconnectError``, which carries an RFC 4253 reason
code) when the peer breaks the protocol.

This package needs the ``cryptography`` library (``pip install 'plait[ssh]'``); importing
``plait.wire`` alone does not load it.
"""
