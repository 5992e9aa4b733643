"""The transport/service contract (see ``plait.ssh._service``)."""

from plait.ssh._service import ISSHTransport, SSHService

__all__ = ["ISSHTransport", "SSHService"]
