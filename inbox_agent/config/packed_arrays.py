"""One numeric column of the model file as a packed array: little-endian binary,
zlib-compressed, base64 text inside the JSON (model file format 3).

The shipped model's ~275,000 weights as JSON numbers took most of its start-up read
(json.loads of the number lists, then lists into arrays: 0.25-0.35 s of CPU for every
``run``, ``classify`` and web start). Packed, the same columns are read in a few
milliseconds and the file is half the size; the values are the same float64 numbers,
bit for bit (a test holds the shipped model to that).

    {"dtype": "<f8", "length": 274892, "zlib_base64": "eJzt..."}
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

FLOAT = "<f8"
INTEGERS = ("<i2", "<i4", "<i8")  # the writer picks the smallest that holds the values
_LIMIT = 1 << 27  # bytes of one column once inflated: the shipped model's largest is 2.3 MB


def pack(values: NDArray[Any], dtype: str) -> dict[str, Any]:
    """``values`` as a packed column of ``dtype`` (which must hold them exactly)."""
    array = np.asarray(values).astype(dtype)
    if not np.array_equal(array, values):
        raise ValueError(f"{dtype} does not hold these values exactly")
    return {
        "dtype": dtype,
        "length": len(array),
        "zlib_base64": base64.b64encode(zlib.compress(array.tobytes(), 9)).decode("ascii"),
    }


def smallest_integer_type(values: NDArray[Any]) -> str:
    """The smallest of ``INTEGERS`` that holds every value (all of them for none)."""
    low, high = (int(values.min()), int(values.max())) if len(values) else (0, 0)
    for dtype in INTEGERS:
        info = np.iinfo(np.dtype(dtype))
        if info.min <= low and high <= info.max:
            return dtype
    raise ValueError("integers beyond 64 bits")


def unpack(column: object, name: str, allowed: tuple[str, ...], to: type) -> NDArray[Any]:
    """A packed column as an array of ``to``; ValueError naming ``name`` and what is wrong."""
    if not isinstance(column, Mapping) or set(column) != {"dtype", "length", "zlib_base64"}:
        raise ValueError(f"{name}: must be a packed array (dtype, length, zlib_base64)")
    dtype, length, text = column["dtype"], column["length"], column["zlib_base64"]
    if dtype not in allowed:
        raise ValueError(f"{name}: dtype must be one of {', '.join(allowed)}")
    if type(length) is not int or length < 0:
        raise ValueError(f"{name}: length must be a whole number >= 0")
    if not isinstance(text, str):
        raise ValueError(f"{name}: zlib_base64 must be text")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(text, validate=True), _LIMIT)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise ValueError(f"{name}: not zlib-compressed base64 ({exc})") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError(f"{name}: truncated, or larger than a model can be")
    expected = length * np.dtype(dtype).itemsize
    if len(raw) != expected:
        raise ValueError(f"{name}: holds {len(raw)} bytes, {length} x {dtype} is {expected}")
    # Read-only, over the inflated bytes (no second copy of a 5 MB column) when the
    # column is already in native order and type; a copy otherwise.
    return np.frombuffer(raw, dtype=dtype).astype(to, copy=False)
