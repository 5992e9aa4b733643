"""DirDBM: the paper's "directory-based dbm-like storage", one file per key.

Why here: it has no network dependency and needs no reactor, so any layer could hold it, and
plait has no persistence package; ``plait.protocols`` (L5, stdlib only) is where the paper's
other odds and ends live, and a ``util`` grab-bag is ruled out.

File names: a key of up to ``MAX_NAMED_KEY`` bytes is stored in ``"k" + base32(key)``
(lower case, no padding): base32 uses only ``a-z2-7``, so a name never contains a separator,
is never ``.``/``..`` (the prefix), and differs from every other key's name even on a
case-insensitive file system. A longer key would overflow a file name (255 bytes), so it is
stored in ``"h" + sha256(key)`` and the file starts with the key itself (8-byte length, key),
which reads check. Writes go to ``".tmp-<random>"`` in the same directory, are flushed and
fsynced, then ``os.replace``d over the name, and the directory is fsynced: a reader sees the
old value or the new one, never half of one. Temporary files left by a crash are never read as
keys and are removed when the directory is opened.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["DirDBM", "Shelf"]

MAX_NAMED_KEY = 150  # base32 of 150 bytes is 240 characters; with the prefix, under 255
_TEMP_PREFIX = ".tmp-"
_LENGTH_BYTES = 8


def _checkBytes(what: str, value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"DirDBM {what}s must be bytes, not {type(value).__name__}")
    return value


def _fsyncDirectory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # a platform that cannot open directories (Windows): nothing to sync
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename itself stands
    finally:
        os.close(fd)


class DirDBM(MutableMapping[bytes, bytes]):
    """A ``MutableMapping[bytes, bytes]`` kept in ``directory``, one file per key.

    Any bytes may be a key (including ``b''``, ``b'../x'``, ``b'/'``, ``b'\\x00'`` and keys
    too long for a file name); writes are atomic and durable. Raises ``TypeError`` for keys or
    values that are not bytes and ``KeyError`` for missing keys.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in os.listdir(self.directory):
            if name.startswith(_TEMP_PREFIX):  # left by a crash in the middle of a write
                try:
                    os.unlink(self.directory / name)
                except FileNotFoundError:
                    pass

    # -- names ---------------------------------------------------------------------------

    @staticmethod
    def _encode(key: bytes) -> str:
        if len(key) <= MAX_NAMED_KEY:
            return "k" + base64.b32encode(key).decode("ascii").rstrip("=").lower()
        return "h" + hashlib.sha256(key).hexdigest()

    @staticmethod
    def _decode(name: str) -> bytes | None:
        """The key stored under a ``k`` name, or None when the name is not one of ours."""
        if not name.startswith("k"):
            return None
        text = name[1:].upper()
        try:
            key = base64.b32decode(text + "=" * (-len(text) % 8))
        except (binascii.Error, ValueError):
            return None
        return key if DirDBM._encode(key) == name else None

    def _path(self, key: bytes) -> Path:
        return self.directory / self._encode(_checkBytes("key", key))

    def _readHashed(self, path: Path) -> tuple[bytes, bytes]:
        data = path.read_bytes()
        length = int.from_bytes(data[:_LENGTH_BYTES], "big")
        end = _LENGTH_BYTES + length
        return data[_LENGTH_BYTES:end], data[end:]

    # -- mapping -------------------------------------------------------------------------

    def __getitem__(self, key: bytes) -> bytes:
        path = self._path(key)
        try:
            if len(key) <= MAX_NAMED_KEY:
                return path.read_bytes()
            stored, value = self._readHashed(path)
        except FileNotFoundError:
            raise KeyError(key) from None
        if stored != key:  # a SHA-256 collision: not this key
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        path = self._path(key)
        _checkBytes("value", value)
        if len(key) > MAX_NAMED_KEY:
            value = len(key).to_bytes(_LENGTH_BYTES, "big") + key + value
        temp = self.directory / (_TEMP_PREFIX + secrets.token_hex(8))
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(value)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise
        _fsyncDirectory(self.directory)

    def __delitem__(self, key: bytes) -> None:
        if key not in self:
            raise KeyError(key)
        os.unlink(self._path(key))
        _fsyncDirectory(self.directory)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, bytes):
            return False
        path = self._path(key)
        if len(key) <= MAX_NAMED_KEY:
            return path.is_file()
        try:
            return self._readHashed(path)[0] == key
        except FileNotFoundError:
            return False

    def __iter__(self) -> Iterator[bytes]:
        for name in sorted(os.listdir(self.directory)):
            if name.startswith("h") and len(name) == 65:
                try:
                    key = self._readHashed(self.directory / name)[0]
                except FileNotFoundError:
                    continue
                if self._encode(key) == name:
                    yield key
            else:
                decoded = self._decode(name)
                if decoded is not None:
                    yield decoded

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.directory)!r})"

    # -- extras (Twisted's DirDBM API) ---------------------------------------------------

    def getModificationTime(self, key: bytes) -> float:
        """When ``key`` was last written (seconds since the epoch); ``KeyError`` if missing."""
        if key not in self:
            raise KeyError(key)
        return self._path(key).stat().st_mtime

    def copyTo(self, path: str | os.PathLike[str]) -> DirDBM:
        """Copy every item into a DirDBM at ``path`` (emptied first) and return it."""
        target = DirDBM(path)
        if target.directory.resolve() == self.directory.resolve():
            raise ValueError(f"cannot copy {self!r} onto itself")
        target.clear()
        for key, value in self.items():
            target[key] = value
        return target

    def clear(self) -> None:
        """Delete every key."""
        for key in list(self):
            os.unlink(self._path(key))
        _fsyncDirectory(self.directory)

    def close(self) -> None:
        """Nothing to release (every operation is complete when it returns); for dbm parity."""


class Shelf(MutableMapping[bytes, Any]):
    """A DirDBM whose values are JSON-serialisable objects (stored as UTF-8 JSON; no pickle).

    Values come back as JSON gives them (tuples become lists); a value JSON cannot hold
    (``set``, ``nan``, arbitrary objects) raises ``TypeError``/``ValueError`` and stores nothing.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.db = DirDBM(directory)
        self.directory = self.db.directory

    def __getitem__(self, key: bytes) -> Any:
        return json.loads(self.db[key])

    def __setitem__(self, key: bytes, value: Any) -> None:
        data = json.dumps(value, allow_nan=False, separators=(",", ":"))
        self.db[key] = data.encode("utf-8")

    def __delitem__(self, key: bytes) -> None:
        del self.db[key]

    def __contains__(self, key: object) -> bool:
        return key in self.db

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.db)

    def __len__(self) -> int:
        return len(self.db)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.directory)!r})"

    def getModificationTime(self, key: bytes) -> float:
        """When ``key`` was last written (seconds since the epoch); ``KeyError`` if missing."""
        return self.db.getModificationTime(key)

    def copyTo(self, path: str | os.PathLike[str]) -> Shelf:
        """Copy every item into a Shelf at ``path`` (emptied first) and return it."""
        self.db.copyTo(path)
        return Shelf(path)

    def clear(self) -> None:
        """Delete every key."""
        self.db.clear()

    def close(self) -> None:
        """Nothing to release; for dbm parity."""
