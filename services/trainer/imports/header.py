"""GGUF header reader: the tensor table with each tensor's on-disk type, read before MLX touches the file.

MLX's reader dequantizes some types silently, drops others without a word and reports the rest as
"gguf_tensor_to_f16 failed"; reading the table first lets every refusal name the tensor and its type.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from shared.errors import InvalidArgument

MAGIC = b"GGUF"
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_UINT32, _STRING, _ARRAY = 4, 8, 9
_DEFAULT_ALIGNMENT = 32
_MAX_DIMS = 8

# ggml_type ids (ggml.h) → names; the ones the importer reads are in READABLE_TYPES.
TYPE_NAMES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K",
    12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
    20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
    29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
}  # fmt: skip
QUANTIZED_TRIPLE_TYPES = frozenset({"Q4_0", "Q4_1", "Q8_0"})
# MLX 0.32 reads these without complaint but wrongly (checked against llama.cpp's reference), so the importer
# reads them from the file itself.
REREAD_TYPES = frozenset({"Q4_K"})
READABLE_TYPES = frozenset({"F32", "F16", "BF16", "Q2_K", "Q6_K"}) | QUANTIZED_TRIPLE_TYPES | REREAD_TYPES


@dataclass(frozen=True)
class TensorInfo:
    """A tensor table entry: GGUF name, shape in ggml order (fastest first), type name, data offset in the file."""

    name: str
    shape: tuple[int, ...]
    type_name: str
    offset: int


@dataclass(frozen=True)
class GgufHeader:
    """The parts of the header the importer checks before loading: version, architecture and tensor table."""

    version: int
    architecture: str | None
    tensors: tuple[TensorInfo, ...]


class _Reader:
    def __init__(self, stream: BinaryIO, path: Path) -> None:
        self.stream = stream
        self.path = path
        self.size = path.stat().st_size

    def _past_end(self, what: str) -> InvalidArgument:
        message = f"file {self.path}: truncated or corrupt GGUF header ({what} runs past the end of the file)"
        return InvalidArgument(message, param="file")

    def take(self, n: int, what: str) -> bytes:
        # Checked before reading: a corrupt length would otherwise ask for exabytes.
        if self.stream.tell() + n > self.size:
            raise self._past_end(what)
        return self.stream.read(n)

    def seek_over(self, n: int, what: str) -> None:
        if self.stream.tell() + n > self.size:
            raise self._past_end(what)
        self.stream.seek(n, 1)

    def unpack(self, fmt: str, what: str) -> int | float | bool:
        value: int | float | bool = struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]
        return value

    def count(self, what: str) -> int:
        return int(self.unpack("<Q", what))

    def string(self, what: str) -> str:
        raw = self.take(self.count(what), what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"file {self.path}: corrupt GGUF header ({what} is not UTF-8)", param="file") from exc

    def skip_value(self, value_type: int, key: str) -> None:
        if value_type in _SCALARS:
            self.take(struct.calcsize(_SCALARS[value_type]), key)
        elif value_type == _STRING:
            self.seek_over(self.count(key), key)
        elif value_type == _ARRAY:
            item_type, length = int(self.unpack("<I", key)), self.count(key)
            if item_type in _SCALARS:
                self.seek_over(length * struct.calcsize(_SCALARS[item_type]), key)
            else:
                for _ in range(length):
                    self.skip_value(item_type, key)
        else:
            raise InvalidArgument(
                f"file {self.path}: corrupt GGUF header (key {key!r} has type {value_type})", param="file"
            )


def read_header(path: Path) -> GgufHeader:
    """Read the magic, version, metadata (skipped) and tensor table; raise a clear error for anything else."""
    with path.open("rb") as stream:
        reader = _Reader(stream, path)
        magic = reader.take(4, "the magic number")
        if magic != MAGIC:
            raise InvalidArgument(f"file {path}: not a GGUF file (magic {magic!r}, expected {MAGIC!r})", param="file")
        version = int(reader.unpack("<I", "the version"))
        if version not in (2, 3):
            raise InvalidArgument(f"file {path}: GGUF version {version} is not supported (2 or 3)", param="file")
        n_tensors, n_keys = reader.count("the tensor count"), reader.count("the key count")
        architecture, alignment = _read_keys(reader, n_keys)
        table = [_read_tensor(reader) for _ in range(n_tensors)]
        data_start = -(-stream.tell() // alignment) * alignment
    tensors = tuple(TensorInfo(name, shape, type_name, data_start + offset) for name, shape, type_name, offset in table)
    return GgufHeader(version, architecture, tensors)


def _read_keys(reader: _Reader, n_keys: int) -> tuple[str | None, int]:
    """Skip the metadata, keeping `general.architecture` and `general.alignment` (32 when absent)."""
    architecture, alignment = None, _DEFAULT_ALIGNMENT
    for _ in range(n_keys):
        key = reader.string("a metadata key")
        value_type = int(reader.unpack("<I", key))
        if key == "general.architecture" and value_type == _STRING:
            architecture = reader.string(key)
        elif key == "general.alignment" and value_type == _UINT32:
            alignment = int(reader.unpack("<I", key))
        else:
            reader.skip_value(value_type, key)
    if alignment <= 0:
        raise InvalidArgument(f"file {reader.path}: corrupt GGUF header (general.alignment {alignment})", param="file")
    return architecture, alignment


def _read_tensor(reader: _Reader) -> tuple[str, tuple[int, ...], str, int]:
    name = reader.string("a tensor name")
    n_dims = int(reader.unpack("<I", name))
    if n_dims > _MAX_DIMS:
        raise InvalidArgument(
            f"file {reader.path}: corrupt GGUF header (tensor {name!r} has {n_dims} dims)", param="file"
        )
    shape = tuple(reader.count(name) for _ in range(n_dims))
    type_id = int(reader.unpack("<I", name))
    return name, shape, TYPE_NAMES.get(type_id, f"type {type_id}"), reader.count(name)


def tensor_bytes(tensor: TensorInfo) -> int:
    """Bytes of the tensor's data: whole blocks of its type (gguf's table of block sizes)."""
    block, size = GGML_QUANT_SIZES[GGMLQuantizationType[tensor.type_name]]
    return math.prod(tensor.shape) // block * size


def check_extent(header: GgufHeader, path: Path, file_bytes: int) -> None:
    """Refuse a file cut short: a tensor whose data runs past `file_bytes` is named, with both sizes."""
    for tensor in header.tensors:
        end = tensor.offset + tensor_bytes(tensor)
        if end > file_bytes:
            raise InvalidArgument(
                f"file {path}: truncated: tensor {tensor.name!r} ({tensor.type_name}) ends at byte {end}, "
                f"past the end of the file ({file_bytes} bytes)",
                param="file",
            )


def check_types(header: GgufHeader, path: Path) -> None:
    """Refuse a tensor type the importer cannot read, naming the tensor and its type."""
    for tensor in header.tensors:
        if tensor.type_name not in READABLE_TYPES:
            raise InvalidArgument(
                f"file {path}: tensor {tensor.name!r} has quantization type {tensor.type_name}, "
                f"which is not supported (supported: {', '.join(sorted(READABLE_TYPES))})",
                param="file",
            )
