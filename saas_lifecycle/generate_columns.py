"""Fast numpy -> pyarrow column builders for the generator.

Python string formatting costs about a microsecond per value, more than the whole budget
of an event, so ids are written as fixed-width bytes straight into Arrow buffers and
repeated strings are decoded from a small vocabulary (a dictionary cast).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from saas_lifecycle.contract import MONEY, TIMESTAMP

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
SECOND_US = 1_000_000

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Four hex characters for every 16-bit value, as one little-endian uint32 (256 KiB table):
# a uint64 id becomes 16 characters with one table lookup per 16 bits.
_NIBBLES = np.arange(1 << 16)
_HEX_QUADS = sum(
    _HEX[(_NIBBLES >> (12 - 4 * i)) & 15].astype(np.uint32) << np.uint32(8 * i) for i in range(4)
).astype(np.uint32)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent random stream per (seed, purpose): tables do not shift each other."""
    entropy = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def mix64(values: np.ndarray, salt: int) -> np.ndarray:
    """A bijection of uint64 that looks random: distinct inputs give distinct ids."""
    x = values.astype(np.uint64) ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
    x = x * _MIX
    x ^= x >> np.uint64(29)
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(32)
    return x


def salt_of(seed: int, name: str) -> int:
    """A 64-bit salt for id mixing, stable across runs."""
    return ((zlib.crc32(name.encode()) << 32) ^ (seed * 0x2545F491)) & 0xFFFFFFFFFFFFFFFF


class IdSequence:
    """Unique ids of one kind: `prefix` + 16 hex digits of a counter passed through mix64."""

    def __init__(self, seed: int, name: str, prefix: str = "", first: int = 0) -> None:
        self.salt = salt_of(seed, name)
        self.prefix = prefix
        self.next = first

    def of(self, numbers: np.ndarray) -> pa.Array:
        """The ids of given counter values (a value repeated gives the same id)."""
        return hex_ids(mix64(numbers, self.salt), prefix=self.prefix)

    def take(self, count: int) -> np.ndarray:
        """The next `count` ids as mixed uint64 values (see hex_matrix)."""
        numbers = self.next + np.arange(count, dtype=np.uint64)
        self.next += count
        return mix64(numbers, self.salt)

    def fresh(self, count: int) -> pa.Array:
        """The next `count` ids as strings."""
        return hex_ids(self.take(count), prefix=self.prefix)


def _validity(valid: np.ndarray | None) -> tuple[pa.Buffer | None, int]:
    if valid is None:
        return None, 0
    nulls = int(valid.size - np.count_nonzero(valid))
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def strings(values: Sequence[str | None]) -> pa.Array:
    """A string array from Python strings, built from buffers.

    (pa.array() would import pandas on first use to check its input: seconds of start-up.)
    """
    encoded = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    bitmap, nulls = _validity(np.fromiter((v is not None for v in values), bool, len(values)))
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [bitmap, pa.py_buffer(offsets), data], nulls
    )


def numbers(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """int64 array (zero copy of an int64 numpy array), nulls where `valid` is False."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    bitmap, nulls = _validity(valid)
    return pa.Array.from_buffers(pa.int64(), data.size, [bitmap, pa.py_buffer(data)], nulls)


def booleans(mask: np.ndarray) -> pa.Array:
    """A boolean array (e.g. for Table.filter) from a numpy mask."""
    bits = np.packbits(np.ascontiguousarray(mask, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), mask.size, [None, pa.py_buffer(bits)])


def fixed_width_strings(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII bytes (zero copy)."""
    n, width = chars.shape
    data = np.ascontiguousarray(chars)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    bitmap, nulls = _validity(valid)
    return pa.Array.from_buffers(
        pa.string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], nulls
    )


def hex_matrix(values: np.ndarray) -> np.ndarray:
    """uint64 values as an (n, 16) uint8 matrix of hex digits (16-bit groups low first)."""
    words = np.ascontiguousarray(values, dtype=np.uint64).view(np.uint16)
    return _HEX_QUADS[words].view(np.uint8).reshape(-1, 16)


def prefixed(prefix: str, body: np.ndarray) -> np.ndarray:
    """Prepend an ASCII prefix to every row of a uint8 character matrix."""
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    out = np.empty((body.shape[0], head.size + body.shape[1]), dtype=np.uint8)
    out[:, : head.size] = head
    out[:, head.size :] = body
    return out


def hex_ids(values: np.ndarray, valid: np.ndarray | None = None, prefix: str = "") -> pa.Array:
    """Ids like `9f2c...` (16 hex digits) from uint64 values already mixed."""
    body = hex_matrix(values)
    return fixed_width_strings(prefixed(prefix, body) if prefix else body, valid)


def decimal_ids(prefix: str, values: np.ndarray, width: int = 8) -> pa.Array:
    """Readable sequential ids such as `usr_00000042`."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((values.astype(np.int64)[:, None] // powers) % 10 + 48).astype(np.uint8)
    return fixed_width_strings(prefixed(prefix, digits))


def decode(codes: np.ndarray, vocabulary: Sequence[str | None] | pa.Array) -> pa.Array:
    """Plain strings from small-integer codes into a vocabulary; code -1 gives null."""
    vocab = vocabulary if isinstance(vocabulary, pa.Array) else strings(vocabulary)
    return dictionary(np.maximum(codes, 0), vocab, codes >= 0).cast(pa.string())


def dictionary(
    codes: np.ndarray, vocabulary: pa.Array, valid: np.ndarray | None = None
) -> pa.DictionaryArray:
    """A dictionary-encoded string column (zero copy of `codes`); nulls live in the indices.

    Parquet writes such a column straight from its dictionary, without hashing every
    value, and reads it back as plain strings.
    """
    return pa.DictionaryArray.from_arrays(int32_indices(codes, valid), vocabulary)


def int32_indices(codes: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Dictionary indices as an int32 array (zero copy when `codes` is int32)."""
    indices = np.ascontiguousarray(codes, dtype=np.int32)
    bitmap, nulls = _validity(valid)
    return pa.Array.from_buffers(pa.int32(), indices.size, [bitmap, pa.py_buffer(indices)], nulls)


def timestamps(us: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """timestamp[us, UTC] from int64 microseconds since the epoch (zero copy)."""
    data = np.ascontiguousarray(us, dtype=np.int64)
    bitmap, nulls = _validity(valid)
    return pa.Array.from_buffers(TIMESTAMP, data.size, [bitmap, pa.py_buffer(data)], nulls)


def money(cents: np.ndarray) -> pa.Array:
    """decimal128(18, 2) from int64 cents, written as 128-bit two's complement words."""
    low = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((low.size, 2), dtype=np.int64)
    words[:, 0] = low
    words[:, 1] = np.where(low < 0, -1, 0)
    return pa.Array.from_buffers(MONEY, low.size, [None, pa.py_buffer(words)])


def pick(rng: np.random.Generator, shares: Sequence[float], size: int) -> np.ndarray:
    """Categorical codes with the given (unnormalised) shares, as int64."""
    cumulative = np.cumsum(np.asarray(shares, dtype=np.float64))
    draws = rng.random(size) * cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, draws, side="right"), len(shares) - 1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def segment_starts(counts: np.ndarray) -> np.ndarray:
    """Start offset of each group when groups of `counts` rows are laid end to end."""
    starts = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of `counts` rows: each row's group and its position inside the group."""
    counts = counts.astype(np.int64, copy=False)
    group = np.repeat(np.arange(counts.size), counts)
    position = np.arange(group.size) - segment_starts(counts)[group]
    return group, position
