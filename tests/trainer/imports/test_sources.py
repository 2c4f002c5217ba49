"""Every source a user has models in: GGUF, Hugging Face and MLX folders, tars of them, Ollama and LM Studio."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import cast

import gguf
import mlx.core as mx
import pytest

from services.trainer.imports import ImportOptions, import_gguf
from services.trainer.imports.sources import import_model
from services.trainer.imports.stores import resolve_lmstudio, resolve_ollama
from services.trainer.models.inspect import inspect_model
from shared.errors import InvalidArgument, NotFound
from tests.trainer.imports.builders import hf_weights, write_gguf
from tests.trainer.imports.stores import lmstudio_store, ollama_store


def load(folder: Path) -> dict[str, mx.array]:
    return cast(dict[str, mx.array], mx.load(str(folder / "model.safetensors")))


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "tiny.Q8_0.gguf", hf_weights("llama"), quant=gguf.GGMLQuantizationType.Q8_0)


@pytest.fixture
def hf_folder(tiny_gguf: Path) -> Path:
    """A dense Hugging Face folder (float32 safetensors, config.json, tokenizer files)."""
    return import_gguf(tiny_gguf, tiny_gguf.parent / "hf", ImportOptions(keep_quantization=False)).model_dir


@pytest.fixture
def mlx_folder(tiny_gguf: Path) -> Path:
    """An mlx-community style folder: 8-bit quantized triples and a `quantization` entry in config.json."""
    return import_gguf(tiny_gguf, tiny_gguf.parent / "mlx", ImportOptions(keep_quantization=True)).model_dir


def test_gguf_kept_quantized(tiny_gguf: Path, tmp_path: Path) -> None:
    result = import_model(tiny_gguf, tmp_path / "out", "keep")
    assert (result.source, result.quantization, result.bits, result.architecture) == ("gguf", "Q8_0", 8, "llama")
    assert result.file_name == tiny_gguf.name and len(result.sha256) == 64
    assert inspect_model(tmp_path / "out").quantization_bits == 8


def test_gguf_dequantized_to_bfloat16(tiny_gguf: Path, tmp_path: Path) -> None:
    result = import_model(tiny_gguf, tmp_path / "out", "bfloat16")
    assert (result.bits, result.dtype) == (None, "bfloat16")
    assert inspect_model(tmp_path / "out").dtype == "bfloat16"


def test_hf_folder_kept_and_cast(hf_folder: Path, tmp_path: Path) -> None:
    kept = import_model(hf_folder, tmp_path / "kept", "keep", file_name="tiny-hf")
    assert (kept.source, kept.quantization, kept.dtype, kept.file_name) == (
        "huggingface",
        "float32",
        "float32",
        "tiny-hf",
    )
    half = import_model(hf_folder, tmp_path / "f16", "float16")
    assert half.dtype == "float16" and half.parameter_count == kept.parameter_count
    assert json.loads((tmp_path / "f16" / "config.json").read_text())["torch_dtype"] == "float16"


def test_mlx_folder_stays_quantized_or_is_dequantized(mlx_folder: Path, tmp_path: Path) -> None:
    kept = import_model(mlx_folder, tmp_path / "kept", "keep")
    assert (kept.source, kept.quantization, kept.bits) == ("mlx", "mlx-8bit", 8)
    dense = import_model(mlx_folder, tmp_path / "dense", "float32")
    assert dense.bits is None and dense.parameter_count == kept.parameter_count
    a = load(tmp_path / "dense")["model.layers.0.mlp.up_proj.weight"]
    b = load(tmp_path / "kept")
    stem = "model.layers.0.mlp.up_proj"
    expected = mx.dequantize(b[f"{stem}.weight"], b[f"{stem}.scales"], b[f"{stem}.biases"], group_size=32, bits=8)
    assert mx.allclose(a, expected).item()


@pytest.mark.parametrize("nested", [True, False])
def test_a_tar_of_a_folder(hf_folder: Path, tmp_path: Path, nested: bool) -> None:
    archive = tmp_path / "model.tar"
    with tarfile.open(archive, "w") as tar:
        if nested:
            tar.add(hf_folder, arcname="tiny")
        else:
            for file in hf_folder.iterdir():
                tar.add(file, arcname=file.name)
    result = import_model(archive, tmp_path / "out", file_name="tiny.tar")
    assert result.source == "huggingface" and (tmp_path / "out" / "config.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out-")], "the unpacked tar was left behind"


def test_ollama_store_resolves_the_model_blob(tiny_gguf: Path, tmp_path: Path) -> None:
    root = ollama_store(tmp_path / "ollama", tiny_gguf, "tiny", "q8")
    found = resolve_ollama("tiny:q8", root)
    assert found.path.name.startswith("sha256-") and found.display_name == "tiny-q8"
    assert import_model(found.path, tmp_path / "out").quantization == "Q8_0"


def test_ollama_models_env_sets_the_root(tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_MODELS", str(ollama_store(tmp_path / "elsewhere", tiny_gguf)))
    assert resolve_ollama("tiny").path.parent == tmp_path / "elsewhere" / "blobs"


def test_ollama_name_not_installed_lists_the_installed(tiny_gguf: Path, tmp_path: Path) -> None:
    root = ollama_store(tmp_path / "ollama", tiny_gguf)
    with pytest.raises(NotFound, match=r"llama3:8b is not installed .*installed: tiny:latest.*ollama pull") as caught:
        resolve_ollama("llama3:8b", root)
    assert caught.value.param == "source"


def test_lmstudio_store(tiny_gguf: Path, tmp_path: Path) -> None:
    roots = [tmp_path / "absent", lmstudio_store(tmp_path / "lms", tiny_gguf)]
    assert resolve_lmstudio("lmstudio-community/Tiny-GGUF", roots).path.name == tiny_gguf.name
    assert resolve_lmstudio(f"lmstudio-community/Tiny-GGUF/{tiny_gguf.name}", roots).display_name == tiny_gguf.stem
    shutil.copy(tiny_gguf, tmp_path / "lms" / "lmstudio-community" / "Tiny-GGUF" / "other.gguf")
    with pytest.raises(InvalidArgument, match=r"add /FILE, one of other\.gguf, tiny\.Q8_0\.gguf"):
        resolve_lmstudio("lmstudio-community/Tiny-GGUF", roots)
    with pytest.raises(NotFound, match="lmstudio model a/b is not in"):
        resolve_lmstudio("a/b", roots)
