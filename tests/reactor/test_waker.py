"""The waker descriptor that other threads use to wake the loop."""

from __future__ import annotations

import os
import select
import threading

from plait.reactor._waker import Waker


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def test_wake_and_drain() -> None:
    """wakeUp makes the descriptor readable; doRead drains every pending wake at once."""
    waker = Waker()
    try:
        assert not _readable(waker.fileno())
        for _ in range(1000):
            waker.wakeUp()
        assert _readable(waker.fileno())
        waker.doRead()
        assert not _readable(waker.fileno())
        waker.doRead()  # nothing pending: no error
        waker.wakeUp()
        assert _readable(waker.fileno())
    finally:
        waker.close()


def test_wake_from_threads() -> None:
    """Concurrent wakeUp calls from many threads leave it readable and never raise."""
    waker = Waker()
    errors: list[BaseException] = []

    def poke() -> None:
        try:
            for _ in range(200):
                waker.wakeUp()
        except BaseException as e:  # pragma: no cover - the assertion reports it
            errors.append(e)

    threads = [threading.Thread(target=poke) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _readable(waker.fileno())
    waker.close()


def test_close_is_idempotent_and_releases_fd() -> None:
    """close() frees the descriptor; wakeUp afterwards is a harmless no-op."""
    waker = Waker()
    fd = waker.fileno()
    waker.close()
    waker.close()
    assert waker.fileno() == -1
    waker.wakeUp()
    try:
        os.fstat(fd)
    except OSError:
        pass
    else:  # the number may have been reused already, but not by the waker
        assert fd != waker.fileno()
