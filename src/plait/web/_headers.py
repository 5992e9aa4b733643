"""``Headers``: HTTP header fields with case-insensitive bytes names and lists of values."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["Headers", "canonicalName"]

_CANONICAL: dict[bytes, bytes] = {
    b"etag": b"ETag",
    b"www-authenticate": b"WWW-Authenticate",
    b"content-md5": b"Content-MD5",
    b"te": b"TE",
    b"dnt": b"DNT",
    b"x-xss-protection": b"X-XSS-Protection",
}


def canonicalName(name: bytes) -> bytes:
    """The conventional capitalisation of a lower-case header name (``Content-Type``)."""
    found = _CANONICAL.get(name)
    if found is None:
        found = b"-".join(part.capitalize() for part in name.split(b"-"))
        if len(_CANONICAL) < 1024:  # bounded: names come from the application, not the peer
            _CANONICAL[name] = found
    return found


def _name(name: bytes | str) -> bytes:
    if isinstance(name, str):
        name = name.encode("ascii")
    return name.lower()


def _value(value: bytes | str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return value


class Headers:
    """Header fields: names are compared case-insensitively, each maps to a list of values.

    Names and values are bytes (str is encoded: names as ASCII, values as UTF-8).
    """

    __slots__ = ("_raw",)

    def __init__(self, rawHeaders: dict[bytes | str, list[bytes | str]] | None = None) -> None:
        self._raw: dict[bytes, list[bytes]] = {}
        if rawHeaders:
            for name, values in rawHeaders.items():
                self.setRawHeaders(name, values)

    @classmethod
    def fromPairs(cls, pairs: list[tuple[bytes, bytes]]) -> Headers:
        """Headers from (lower-case name, value) pairs, as ``plait.wire.http`` parses them."""
        headers = cls()
        raw = headers._raw
        for name, value in pairs:
            values = raw.get(name)
            if values is None:
                raw[name] = [value]
            else:
                values.append(value)
        return headers

    def __repr__(self) -> str:
        return f"Headers({self._raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._raw == other._raw

    __hash__ = None  # type: ignore[assignment]

    def hasHeader(self, name: bytes | str) -> bool:
        """Whether there is at least one value for ``name``."""
        return _name(name) in self._raw

    def getRawHeaders(
        self, name: bytes | str, default: list[bytes] | None = None
    ) -> list[bytes] | None:
        """All values of ``name`` (a new list), or ``default``."""
        values = self._raw.get(_name(name))
        return list(values) if values is not None else default

    def setRawHeaders(self, name: bytes | str, values: list[bytes | str]) -> None:
        """Replace all values of ``name``."""
        self._raw[_name(name)] = [_value(v) for v in values]

    def addRawHeader(self, name: bytes | str, value: bytes | str) -> None:
        """Add one more value for ``name``."""
        self._raw.setdefault(_name(name), []).append(_value(value))

    def removeHeader(self, name: bytes | str) -> None:
        """Drop every value of ``name`` (nothing if there is none)."""
        self._raw.pop(_name(name), None)

    def getAllRawHeaders(self) -> Iterator[tuple[bytes, list[bytes]]]:
        """(canonical name, values) for every header."""
        for name, values in self._raw.items():
            yield canonicalName(name), list(values)

    def copy(self) -> Headers:
        """An independent copy."""
        other = Headers()
        other._raw = {name: list(values) for name, values in self._raw.items()}
        return other
