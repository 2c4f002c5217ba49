"""A bad GGUF gets a clear error naming the file, tensor or field, and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest

from services.trainer.imports import ImportOptions, import_gguf
from shared.errors import InvalidArgument
from tests.trainer.imports.builders import Vocab, hf_weights, write_gguf


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "good.gguf", hf_weights("llama"))


def refused(path: Path, match: str, options: ImportOptions | None = None) -> InvalidArgument:
    out = path.parent / "out"
    with pytest.raises(InvalidArgument, match=match) as caught:
        import_gguf(path, out, options)
    assert not out.exists()
    assert not list(path.parent.glob(".out-*")), "a staging folder was left behind"
    return caught.value


def test_truncated_in_the_tensor_data_names_the_tensor(good: Path) -> None:
    data = good.read_bytes()
    good.write_bytes(data[: len(data) - 4096])
    error = refused(good, r"truncated: tensor '.*' \(\w+\) ends at byte \d+, past the end of the file")
    assert str(good) in error.message


def test_truncated_in_the_header(good: Path) -> None:
    good.write_bytes(good.read_bytes()[:300])
    refused(good, rf"file {good}: truncated or corrupt GGUF header")


def test_not_a_gguf_file(good: Path) -> None:
    good.write_bytes(b"PK\x03\x04" + good.read_bytes()[4:])
    refused(good, r"not a GGUF file \(magic b'PK\\x03\\x04'")


def test_corrupt_header(good: Path) -> None:
    data = bytearray(good.read_bytes())
    data[24:32] = (2**62).to_bytes(8, "little")  # the first key's length
    good.write_bytes(bytes(data))
    refused(good, rf"file {good}: truncated or corrupt GGUF header")


def test_unsupported_architecture_is_named(tmp_path: Path) -> None:
    error = refused(write_gguf(tmp_path / "m.gguf", hf_weights("llama"), arch="gemma"), r"'gemma' is not supported")
    assert error.param == "general.architecture"


def test_unsupported_quantization_type_names_the_tensor(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", hf_weights("llama"), quant=gguf.GGMLQuantizationType.Q5_0)
    refused(path, r"tensor 'token_embd\.weight' has quantization type Q5_0, which is not supported")


def test_a_tensor_without_an_mlx_lm_name_is_named(tmp_path: Path) -> None:
    extra = {"blk.0.attn_gate.weight": np.ones((8, 64), dtype=np.float32)}
    path = write_gguf(tmp_path / "m.gguf", hf_weights("llama"), extra_tensors=extra)
    refused(path, r"tensor 'blk\.0\.attn_gate\.weight' is not supported")


def test_a_non_bpe_tokenizer_names_the_field(tmp_path: Path) -> None:
    error = refused(write_gguf(tmp_path / "m.gguf", hf_weights("llama"), vocab=Vocab(model="t5")), r"got 't5'")
    assert error.param == "tokenizer.ggml.model"


def test_unknown_dtype_names_the_field(good: Path) -> None:
    error = refused(good, r"dtype: got 'float64'", ImportOptions(dtype="float64"))  # type: ignore[arg-type]
    assert error.param == "dtype"


def test_existing_target_is_refused(good: Path) -> None:
    (good.parent / "out").mkdir()
    with pytest.raises(InvalidArgument, match="out_dir"):
        import_gguf(good, good.parent / "out")
