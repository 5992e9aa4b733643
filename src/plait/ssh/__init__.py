"""SSH on the reactor: the adapters that drive ``plait.wire.ssh``'s machines over transports.

Public modules: ``plait.ssh.transport`` (the SSH transport as a ``Protocol``, client and
server), ``plait.ssh.userauth`` and ``plait.ssh.connection`` (services), ``plait.ssh.session``
(shell/exec/subsystem with processes and PTYs), ``plait.ssh.forwarding``, ``plait.ssh.sftp``.
Needs ``pip install 'plait[ssh]'``.
"""
