"""Parsing ``multipart/form-data`` bodies into ``Request.args``."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

__all__ = ["parseMultipart"]


def parseMultipart(contentType: bytes, body: bytes) -> dict[bytes, list[bytes]]:
    """Field name -> values of a multipart/form-data body (files give their contents)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + contentType + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    args: dict[bytes, list[bytes]] = {}
    if not message.is_multipart():
        return args
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        args.setdefault(str(name).encode("utf-8"), []).append(payload)
    return args
