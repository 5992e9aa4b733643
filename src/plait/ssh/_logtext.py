"""Peer-chosen text made safe for a log line (shared by the SSH transport, userauth, manhole)."""

from __future__ import annotations

__all__ = ["shown"]


def shown(text: bytes | str) -> str:
    """``text`` from the peer (a user name, version string, DISCONNECT or DEBUG message) for a
    log line: decoded, with control characters (newlines, escape sequences) and backslashes
    escaped so that it cannot forge or garble log lines."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(c if c.isprintable() and c != "\\" else ascii(c)[1:-1] for c in text)
