"""plait.web._soap's value codec: encode then decode gives the value back (hypothesis)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plait.web._soap import decode, encode, envelope

XML_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
        + ["\ufffe", "\uffff"],
    )
)
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
SCALARS = (
    st.booleans() | st.integers() | st.floats(allow_nan=False) | XML_TEXT | st.binary() | st.none()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=20,
)


def roundTrip(value: Any) -> Any:
    """Encode ``value`` (SOAP-encoded style) in an envelope, parse it, decode it."""
    root = ET.fromstring(envelope(encode("v", value, True)))
    return decode(root[0][0])


@given(VALUES)
def test_round_trip(value: Any) -> None:
    """Every encodable value survives encode/decode (tuples become lists)."""
    assert roundTrip(value) == value


def test_special_floats() -> None:
    """Infinities and NaN are sent as INF/-INF/NaN."""
    assert roundTrip(math.inf) == math.inf and roundTrip(-math.inf) == -math.inf
    assert math.isnan(roundTrip(math.nan))


def test_carriage_return_kept() -> None:
    """A CR in a string is not turned into LF by XML end-of-line handling."""
    assert roundTrip("a\r\nb\rc") == "a\r\nb\rc"


@pytest.mark.parametrize("value", ["bad\x00char", {"1bad": 1}, {"a b": 1}, object()])
def test_unencodable(value: Any) -> None:
    """Control characters, non-name struct keys and unknown types are refused."""
    with pytest.raises((ValueError, TypeError)):
        encode("v", value, True)
