"""Directory-based dbm-like storage (paper §6): ``DirDBM`` and its JSON ``Shelf``.

One file per key, atomic writes, keys of any bytes. Errors: ``TypeError`` for a key or value of
the wrong type, ``KeyError`` for a missing key, ``OSError`` from the file system, and JSON's
``TypeError``/``ValueError`` for a ``Shelf`` value JSON cannot hold.
"""

from plait.protocols._dirdbm import DirDBM, Shelf

__all__ = ["DirDBM", "Shelf"]
