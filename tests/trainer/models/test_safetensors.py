"""Our safetensors writer and header reader agree with MLX's own loader."""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import numpy as np

from services.trainer.models.safetensors_format import read_header, to_bfloat16_bits, write_file


def test_written_file_loads_in_mlx(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = rng.standard_normal((3, 5), dtype=np.float32)
    tensors = {
        "b.weight": values,
        "a.half": values.astype(np.float16),
        "c.bf16": to_bfloat16_bits(values),
        "d.ids": np.arange(7, dtype=np.uint32),
    }
    path = tmp_path / "t.safetensors"
    write_file(path, tensors, metadata={"format": "pt"}, bfloat16=frozenset({"c.bf16"}))
    loaded = mx.load(str(path))
    assert np.array_equal(np.array(loaded["b.weight"]), values)
    assert np.array_equal(np.array(loaded["a.half"]), values.astype(np.float16))
    assert loaded["c.bf16"].dtype == mx.bfloat16
    assert mx.array_equal(loaded["c.bf16"], mx.array(values).astype(mx.bfloat16))  # same rounding as MLX
    assert loaded["d.ids"].tolist() == list(range(7))

    headers, metadata = read_header(path)
    assert metadata == {"format": "pt"}
    assert {n: (h.dtype, h.shape, h.nbytes) for n, h in headers.items()} == {
        "b.weight": ("F32", (3, 5), 60),
        "a.half": ("F16", (3, 5), 30),
        "c.bf16": ("BF16", (3, 5), 30),
        "d.ids": ("U32", (7,), 28),
    }
    assert (path.stat().st_size - 8 - int.from_bytes(path.read_bytes()[:8], "little")) == 148


def test_header_matches_mlx_written_file(tmp_path: Path) -> None:
    path = tmp_path / "mlx.safetensors"
    mx.save_safetensors(str(path), {"w": mx.zeros((4, 2), dtype=mx.bfloat16), "q": mx.zeros((2, 3), dtype=mx.uint32)})
    headers, _ = read_header(path)
    assert headers["w"].dtype == "BF16" and headers["w"].shape == (4, 2) and headers["w"].nbytes == 16
    assert headers["q"].numel == 6 and not headers["q"].is_float
