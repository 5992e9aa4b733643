"""UnixSFTPFileSystem with a root: virtual paths, and no way out by '..' or symlinks."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.ssh.sftp import FX, FXF, SFTPError, UnixSFTPFileSystem
from plait.wire.ssh.sftp import FileAttributes


@pytest.fixture
def jail(tmp_path: Path) -> tuple[UnixSFTPFileSystem, Path, Path]:
    root = tmp_path / "root"
    (root / "home" / "u").mkdir(parents=True)
    (root / "inside.txt").write_bytes(b"inside")
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"secret")
    fs = UnixSFTPFileSystem(home="/home/u", root=root)
    return fs, root, outside


def _read(fs: UnixSFTPFileSystem, path: bytes) -> bytes:
    f = fs.openFile(path, FXF.READ, FileAttributes())
    try:
        return f.readChunk(0, 100)
    finally:
        f.close()


def test_virtual_paths(jail: tuple[UnixSFTPFileSystem, Path, Path]) -> None:
    """'/' is the root, '.' is the home inside it, '..' stops at the root."""
    fs, _, _ = jail
    assert fs.realPath(b".") == b"/home/u"
    assert fs.realPath(b"../../../..") == b"/"
    assert fs.realPath(b"/../inside.txt") == b"/inside.txt"
    assert _read(fs, b"../../inside.txt") == b"inside"
    assert _read(fs, b"/../../inside.txt") == b"inside"


@pytest.mark.parametrize(
    "target",
    ["../../../secret.txt", "/../secret.txt", "SECRET_ABSOLUTE", "../../.."],
)
def test_symlink_escape_refused(jail: tuple[UnixSFTPFileSystem, Path, Path], target: str) -> None:
    """A symlink pointing outside the root resolves inside it, never to the outside file."""
    fs, root, outside = jail
    if target == "SECRET_ABSOLUTE":
        target = str(outside)
    os.symlink(target, root / "home" / "u" / "link")
    with pytest.raises((OSError, SFTPError)):
        _read(fs, b"link")  # no such file (or, for '../../..', the root directory itself)
    with pytest.raises((OSError, SFTPError)):
        _read(fs, b"link/secret.txt")
    assert fs.realPath(b"link").startswith(b"/")
    assert not fs.realPath(b"link").startswith(os.fsencode(root))


def test_symlink_absolute_target_is_root_relative(
    jail: tuple[UnixSFTPFileSystem, Path, Path],
) -> None:
    """An absolute symlink target means a path under the root."""
    fs, root, _ = jail
    fs.makeLink(b"abs", b"/inside.txt")
    assert os.readlink(root / "home" / "u" / "abs") == "/inside.txt"
    assert _read(fs, b"abs") == b"inside"
    assert fs.getAttrs(b"abs", True).size == 6
    assert fs.readLink(b"abs") == b"/inside.txt"
    assert fs.realPath(b"abs") == b"/inside.txt"


def test_directory_symlink_loop(jail: tuple[UnixSFTPFileSystem, Path, Path]) -> None:
    """A symlink loop is ELOOP, not a hang."""
    fs, root, _ = jail
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    with pytest.raises(OSError) as info:
        fs.getAttrs(b"/a/x", True)
    assert info.value.errno == 40


def test_writes_stay_inside(jail: tuple[UnixSFTPFileSystem, Path, Path]) -> None:
    """Creating through a dangling escaping symlink creates inside the root."""
    fs, root, outside = jail
    os.symlink("../../../../new.txt", root / "home" / "u" / "dangling")
    f = fs.openFile(b"dangling", FXF.WRITE | FXF.CREAT, FileAttributes())
    f.writeChunk(0, b"x")
    f.close()
    assert not (outside.parent / "new.txt").exists()
    assert (root / "new.txt").read_bytes() == b"x"


def test_listing_and_removal_use_root(jail: tuple[UnixSFTPFileSystem, Path, Path]) -> None:
    """Directory listing, mkdir, rename and remove act under the root."""
    fs, root, _ = jail
    fs.makeDirectory(b"/d", FileAttributes())
    assert (root / "d").is_dir()
    fs.renameFile(b"/inside.txt", b"/d/moved")
    assert (root / "d" / "moved").exists()
    directory = fs.openDirectory(b"/d")
    names = [entry.filename for entry in directory]
    directory.close()
    assert sorted(names) == [b".", b"..", b"moved"]
    fs.removeFile(b"/d/moved")
    fs.removeDirectory(b"/d")
    assert not (root / "d").exists()
    with pytest.raises(SFTPError) as info:
        fs.openFile(b"/home", FXF.READ, FileAttributes())
    assert info.value.code == FX.FAILURE


def test_read_only_refuses_changes(tmp_path: Path) -> None:
    """A read-only file system reads but refuses every change with PermissionError."""
    (tmp_path / "f").write_bytes(b"data")
    fs = UnixSFTPFileSystem(home=tmp_path, readOnly=True)
    assert _read(fs, b"f") == b"data"
    attrs = FileAttributes(permissions=0o600)
    changes = [
        lambda: fs.openFile(b"f", FXF.WRITE, FileAttributes()),
        lambda: fs.openFile(b"new", FXF.CREAT | FXF.READ, FileAttributes()),
        lambda: fs.removeFile(b"f"),
        lambda: fs.renameFile(b"f", b"g"),
        lambda: fs.posixRename(b"f", b"g"),
        lambda: fs.makeHardLink(b"f", b"g"),
        lambda: fs.makeDirectory(b"d", attrs),
        lambda: fs.removeDirectory(b"."),
        lambda: fs.setAttrs(b"f", attrs),
        lambda: fs.makeLink(b"l", b"f"),
    ]
    for change in changes:
        with pytest.raises(PermissionError):
            change()
    f = fs.openFile(b"f", FXF.READ, FileAttributes())
    with pytest.raises(PermissionError):
        f.setAttrs(attrs)
    f.close()
    assert sorted(os.listdir(tmp_path)) == ["f"]
    assert (tmp_path / "f").stat().st_mode & 0o777 != 0o600


def test_nul_in_path_is_no_such_file(tmp_path: Path) -> None:
    """A NUL byte in a path or a symlink target is the client's error, not an exception."""
    fs = UnixSFTPFileSystem(home=tmp_path)
    for call in (
        lambda: fs.getAttrs(b"a\0b", True),
        lambda: fs.makeLink(b"l", b"t\0"),
        lambda: fs.openFile(b"\0", FXF.READ, FileAttributes()),
    ):
        with pytest.raises(SFTPError) as info:
            call()
        assert info.value.code == FX.NO_SUCH_FILE


_COMPONENTS = st.sampled_from(["a", "b", "..", ".", "", "up", "abs", "deep", "loop", "file"])


@settings(deadline=None, max_examples=300)
@given(st.lists(_COMPONENTS, max_size=12), st.booleans(), st.booleans())
def test_resolution_never_leaves_root(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str], absolute: bool, follow: bool
) -> None:
    """Whatever mix of '..', '.', and escaping symlinks a path holds, it resolves under root."""
    base = _tree(tmp_path_factory)
    root = base / "root"
    fs = UnixSFTPFileSystem(home="/a", root=root)
    path = ("/" if absolute else "") + "/".join(parts)
    try:
        real = fs._real(os.fsencode(path), followFinal=follow)
    except OSError as e:
        assert e.errno == 40  # a loop
        return
    resolved = os.path.normpath(os.fsdecode(real))
    assert resolved == str(root) or resolved.startswith(str(root) + os.sep)
    if follow and os.path.lexists(real):
        # Every component is real: the kernel agrees it is under the root.
        assert os.fsdecode(os.path.realpath(real)).startswith(str(root.resolve()))


_TREES: dict[str, Path] = {}


def _tree(factory: pytest.TempPathFactory) -> Path:
    """One shared tree of directories and hostile symlinks (made once per session)."""
    if "tree" not in _TREES:
        base = factory.mktemp("sftptree")
        root = base / "root"
        (root / "a" / "b").mkdir(parents=True)
        (base / "outside").mkdir()
        (root / "file").write_bytes(b"")
        for where in (root, root / "a", root / "a" / "b"):
            os.symlink("../../../..", where / "up")
            os.symlink(str(base / "outside"), where / "abs")
            os.symlink("a/b/up/a", where / "deep")
            os.symlink("loop", where / "loop")
        _TREES["tree"] = base
    return _TREES["tree"]


def test_fifo_does_not_block(tmp_path: Path) -> None:
    """Opening a FIFO with no writer returns at once; reading it finds nothing."""
    os.mkfifo(tmp_path / "fifo")
    fs = UnixSFTPFileSystem(home=tmp_path)
    f = fs.openFile(b"fifo", FXF.READ, FileAttributes())  # would block without O_NONBLOCK
    try:
        with pytest.raises(OSError) as info:
            f.readChunk(0, 10)
        assert info.value.errno == errno.ESPIPE  # a FIFO has no offsets: FAILURE, not a hang
    finally:
        f.close()
