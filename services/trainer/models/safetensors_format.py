"""The safetensors file format, read and written without the `safetensors` package.

A file is an 8-byte little-endian header length, a JSON header (`{name: {dtype, shape, data_offsets}}` plus
`__metadata__`) and the raw tensor bytes. Reading only the header gives shapes, dtypes and sizes without
loading a single weight; writing it ourselves keeps the bytes fully determined by the tensors.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.errors import FailedPrecondition

# Size in bytes of one element of each safetensors dtype; sub-byte types are stored packed in U8/U32.
DTYPE_BYTES: dict[str, float] = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U64": 8,
    "U32": 4,
    "U16": 2,
    "U8": 1,
    "BOOL": 1,
}
DTYPE_NAMES: dict[str, str] = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16"}
MAX_HEADER_BYTES = 100 * 1024 * 1024
ALIGNMENT = 8


@dataclass(frozen=True)
class TensorHeader:
    """One tensor's entry in a safetensors header: its dtype, shape and size, not its data."""

    name: str
    dtype: str  # safetensors spelling: "F32", "BF16", "U32", ...
    shape: tuple[int, ...]
    nbytes: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype in DTYPE_NAMES


def read_header(path: Path) -> tuple[dict[str, TensorHeader], dict[str, str]]:
    """The tensors (name → header) and the `__metadata__` of a safetensors file, reading only its header."""
    try:
        with path.open("rb") as f:
            prefix = f.read(8)
            if len(prefix) != 8:
                raise FailedPrecondition(f"{path}: not a safetensors file (shorter than 8 bytes)", param="model")
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES:
                raise FailedPrecondition(f"{path}: not a safetensors file (header of {length} bytes)", param="model")
            raw = f.read(length)
    except OSError as exc:
        raise FailedPrecondition(f"{path}: cannot be read ({exc.strerror})", param="model") from exc
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FailedPrecondition(f"{path}: not a safetensors file (header is not JSON)", param="model") from exc
    if not isinstance(header, dict):
        raise FailedPrecondition(f"{path}: not a safetensors file (header is not an object)", param="model")
    metadata = header.pop("__metadata__", None) or {}
    tensors: dict[str, TensorHeader] = {}
    for name, entry in header.items():
        try:
            start, end = entry["data_offsets"]
            tensors[name] = TensorHeader(
                name, str(entry["dtype"]), tuple(int(d) for d in entry["shape"]), int(end) - int(start)
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FailedPrecondition(f"{path}: tensor {name!r} has a malformed header entry", param="model") from exc
    return tensors, {str(k): str(v) for k, v in metadata.items()}


def to_bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """float32 → bfloat16 bit patterns (uint16), rounding to nearest even as MLX and PyTorch do."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


_NUMPY_DTYPES: dict[np.dtype, str] = {
    np.dtype(np.float32): "F32",
    np.dtype(np.float16): "F16",
    np.dtype(np.int32): "I32",
    np.dtype(np.uint32): "U32",
    np.dtype(np.uint8): "U8",
}


def write_file(
    path: Path,
    tensors: Mapping[str, np.ndarray],
    *,
    metadata: Mapping[str, str] | None = None,
    bfloat16: frozenset[str] = frozenset(),
) -> None:
    """Write `tensors`; names in `bfloat16` hold uint16 bit patterns stored as BF16."""
    header: dict[str, object] = {"__metadata__": dict(metadata or {})}
    offset = 0
    blobs: list[bytes] = []
    # Widest dtype first, then by name (the official writer's order) keeps every tensor aligned.
    for name in sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n)):
        array = np.ascontiguousarray(tensors[name])
        dtype = "BF16" if name in bfloat16 else _NUMPY_DTYPES.get(array.dtype)
        if dtype is None:
            raise TypeError(f"{name}: dtype {array.dtype} cannot be written")
        blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":"), sort_keys=False).encode()
    encoded += b" " * (-len(encoded) % ALIGNMENT)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)
