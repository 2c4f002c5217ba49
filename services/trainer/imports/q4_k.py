"""Q4_K read straight from the file as an MLX 4-bit triple, since MLX's own GGUF reader decodes it wrongly.

A Q4_K super-block holds 256 values as 8 sub-blocks of 32, each `d * scale_j * q - dmin * min_j` with 4-bit q:
exactly MLX's affine 4-bit format with group size 32, so the codes are repacked and nothing is re-quantized.
Layout as in llama.cpp's `dequantize_row_q4_K`: f16 d, f16 dmin, 12 bytes of packed 6-bit scales and mins,
then 128 bytes of codes where each 32-byte run holds two sub-blocks (low nibbles first).
"""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import numpy as np

from services.trainer.imports.header import TensorInfo
from shared.errors import InvalidArgument

BLOCK_VALUES, BLOCK_BYTES = 256, 144


def read_q4_k(path: Path, info: TensorInfo) -> tuple[mx.array, mx.array, mx.array]:
    """(packed uint32 codes, scales, biases) for `mx.dequantize(..., group_size=32, bits=4)`, rows first."""
    cols, rows = info.shape[0], int(np.prod(info.shape[1:], dtype=np.int64))
    if cols % BLOCK_VALUES:
        raise InvalidArgument(f"file {path}: tensor {info.name!r} has rows of {cols}, not a multiple of 256")
    n_blocks = rows * cols // BLOCK_VALUES
    if info.offset + n_blocks * BLOCK_BYTES > path.stat().st_size:
        raise InvalidArgument(f"file {path}: tensor {info.name!r} extends past the end of the file", param="file")
    blocks = np.memmap(path, dtype=np.uint8, mode="r", offset=info.offset, shape=(n_blocks, BLOCK_BYTES))
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    dmin = blocks[:, 2:4].copy().view(np.float16).astype(np.float32)
    packed = blocks[:, 4:16].astype(np.uint8)
    scales = np.concatenate([packed[:, 0:4] & 63, (packed[:, 8:12] & 0xF) | ((packed[:, 0:4] >> 6) << 4)], axis=1)
    mins = np.concatenate([packed[:, 4:8] & 63, (packed[:, 8:12] >> 4) | ((packed[:, 4:8] >> 6) << 4)], axis=1)
    runs = blocks[:, 16:].reshape(n_blocks, 4, 32)
    codes = np.stack([runs & 0xF, runs >> 4], axis=2).reshape(rows, cols // 8, 8).astype(np.uint32)
    words = np.bitwise_or.reduce(codes << (4 * np.arange(8, dtype=np.uint32)), axis=2)
    return (
        mx.array(words),
        mx.array((d * scales).reshape(rows, cols // 32)),
        mx.array((-dmin * mins).reshape(rows, cols // 32)),
    )
