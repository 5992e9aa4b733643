"""plait.protocols.dirdbm: DirDBM and Shelf on a temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plait.protocols.dirdbm import DirDBM, Shelf

HOSTILE = [
    b"",
    b".",
    b"..",
    b"../x",
    b"/",
    b"/etc/passwd",
    b"\x00",
    b"a/b",
    b"\\",
    b"k",
    b"A",
    b"a",
]


def test_round_trip_of_hostile_keys(tmp_path: Path) -> None:
    """Keys with separators, dots, NULs, or empty, round-trip and stay inside the directory."""
    db = DirDBM(tmp_path / "db")
    for n, key in enumerate(HOSTILE):
        db[key] = b"value %d" % n
    assert {key: db[key] for key in db} == {key: b"value %d" % n for n, key in enumerate(HOSTILE)}
    assert len(db) == len(HOSTILE)
    assert sorted(os.listdir(tmp_path)) == ["db"]  # nothing escaped
    for name in os.listdir(tmp_path / "db"):
        assert name not in (".", "..") and "/" not in name and len(name) <= 255


def test_case_insensitive_names_do_not_collide(tmp_path: Path) -> None:
    """b'a' and b'A' get names that differ in more than letter case."""
    db = DirDBM(tmp_path)
    db[b"a"] = b"lower"
    db[b"A"] = b"upper"
    names = [n.lower() for n in os.listdir(tmp_path)]
    assert len(set(names)) == 2


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(st.dictionaries(st.binary(max_size=300), st.binary(max_size=50), max_size=8))
def test_any_keys_round_trip(tmp_path: Path, items: dict[bytes, bytes]) -> None:
    """Any dict of bytes, including keys too long for a file name, round-trips."""
    db = DirDBM(tmp_path / "any")
    db.clear()
    db.update(items)
    assert dict(db.items()) == items


def test_very_long_keys_are_hashed(tmp_path: Path) -> None:
    """A 10 kB key is stored under a hashed name and still listed, read, deleted."""
    db = DirDBM(tmp_path)
    key = b"\xff" * 10_000
    db[key] = b"big"
    assert db[key] == b"big"
    assert list(db) == [key] and key in db
    assert b"\xff" * 9_999 not in db
    (name,) = os.listdir(tmp_path)
    assert name.startswith("h") and len(name) == 65
    del db[key]
    assert len(db) == 0


def test_missing_keys_and_wrong_types(tmp_path: Path) -> None:
    """Missing keys raise KeyError; str keys or values raise TypeError."""
    db = DirDBM(tmp_path)
    with pytest.raises(KeyError):
        db[b"nope"]
    with pytest.raises(KeyError):
        del db[b"nope"]
    with pytest.raises(KeyError):
        db.getModificationTime(b"nope")
    with pytest.raises(TypeError):
        db["text"] = b"x"  # type: ignore[index]
    with pytest.raises(TypeError):
        db[b"x"] = "text"  # type: ignore[assignment]
    assert "text" not in db  # type: ignore[comparison-overlap]
    assert len(db) == 0


def test_overwrite_delete_contains(tmp_path: Path) -> None:
    """Overwriting replaces the value; deleting removes the key."""
    db = DirDBM(tmp_path)
    db[b"k"] = b"1"
    db[b"k"] = b"2"
    assert db[b"k"] == b"2" and b"k" in db and len(db) == 1
    del db[b"k"]
    assert b"k" not in db and list(db) == []


def test_stray_temp_files_are_ignored_and_cleaned(tmp_path: Path) -> None:
    """A temp file left by a crash is never a key, and opening the directory removes it."""
    db = DirDBM(tmp_path)
    db[b"real"] = b"v"
    stray = tmp_path / ".tmp-deadbeef"
    stray.write_bytes(b"half a val")
    (tmp_path / "junk").write_bytes(b"not ours")
    assert list(db) == [b"real"]
    DirDBM(tmp_path)
    assert not stray.exists()
    assert list(DirDBM(tmp_path)) == [b"real"]


def test_writes_leave_no_temp_files(tmp_path: Path) -> None:
    """After writes only the key files remain."""
    db = DirDBM(tmp_path)
    for n in range(5):
        db[b"%d" % n] = b"x" * n
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_modification_time(tmp_path: Path) -> None:
    """getModificationTime is the file's mtime."""
    db = DirDBM(tmp_path)
    db[b"k"] = b"v"
    path = tmp_path / os.listdir(tmp_path)[0]
    os.utime(path, (1_000_000, 1_000_000))
    assert db.getModificationTime(b"k") == 1_000_000


def test_copy_to_and_clear(tmp_path: Path) -> None:
    """copyTo copies every item into an emptied target; clear empties."""
    db = DirDBM(tmp_path / "a")
    db.update({b"x": b"1", b"../y": b"2"})
    target = DirDBM(tmp_path / "b")
    target[b"old"] = b"gone"
    copy = db.copyTo(tmp_path / "b")
    assert dict(copy.items()) == {b"x": b"1", b"../y": b"2"}
    with pytest.raises(ValueError):
        db.copyTo(tmp_path / "a")
    db.clear()
    assert len(db) == 0 and len(copy) == 2
    db.close()


def test_shelf_stores_json(tmp_path: Path) -> None:
    """Shelf values are JSON: lists, dicts, numbers, strings, None round-trip; files are JSON."""
    shelf = Shelf(tmp_path)
    value = {"a": [1, 2.5, None, True], "b": "text"}
    shelf[b"../k"] = value
    assert shelf[b"../k"] == value
    assert (tmp_path / os.listdir(tmp_path)[0]).read_bytes().startswith(b"{")
    assert b"../k" in shelf and list(shelf) == [b"../k"] and len(shelf) == 1
    shelf[b"t"] = (1, 2)
    assert shelf[b"t"] == [1, 2]
    assert isinstance(shelf.getModificationTime(b"t"), float)
    copy = shelf.copyTo(tmp_path / "copy")
    assert isinstance(copy, Shelf) and copy[b"t"] == [1, 2]
    del shelf[b"t"]
    shelf.clear()
    assert len(shelf) == 0
    shelf.close()


def test_shelf_refuses_what_json_cannot_hold(tmp_path: Path) -> None:
    """A set, NaN or an arbitrary object is refused and nothing is stored (no pickle)."""
    shelf = Shelf(tmp_path)
    with pytest.raises(TypeError):
        shelf[b"s"] = {1, 2}
    with pytest.raises(ValueError):
        shelf[b"n"] = float("nan")
    with pytest.raises(TypeError):
        shelf[b"o"] = object()
    assert len(shelf) == 0
