"""fuse_adapter: the fused model generates what base + adapter generates, loads with mlx_lm, quantizes, and refuses
bad inputs without leaving anything behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlx.core as mx
import mlx_lm
import pytest

from services.trainer.exports import ExportResult, fuse_adapter
from services.trainer.models.inspect import inspect_model
from shared.adapter_format import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    load_adapter_tensors,
    read_adapter_config,
    write_adapter,
)
from shared.errors import FailedPrecondition
from shared.schemas.export import ExportOptions, QuantizeConfig
from tests.trainer.exports.builders import build_adapter, build_quantized_base, greedy_all, safetensors_names

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")


@pytest.fixture(scope="module")
def fused(export_base: Path, export_adapter: Path, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    out = tmp_path_factory.mktemp("fused") / "fused-f32"
    return fuse_adapter(export_base, export_adapter, out, ExportOptions(dtype="float32"))


@pytest.fixture(scope="module")
def adapted_tokens(export_base: Path, export_adapter: Path) -> dict[str, list[int]]:
    return greedy_all(*mlx_lm.load(str(export_base), adapter_path=str(export_adapter)))


def test_fused_model_generates_what_base_plus_adapter_generates(
    fused: ExportResult, export_base: Path, adapted_tokens: dict[str, list[int]]
) -> None:
    assert greedy_all(*mlx_lm.load(str(fused.path))) == adapted_tokens
    base_tokens = greedy_all(*mlx_lm.load(str(export_base)))
    assert all(base_tokens[p] != adapted_tokens[p] for p in adapted_tokens), "the adapter changes nothing"


def test_fused_folder_is_a_clean_model(fused: ExportResult, export_base: Path) -> None:
    names = safetensors_names(fused.path)
    assert names and not any("lora" in name for name in names)
    assert {str(v.dtype) for v in names.values()} == {"mlx.core.float32"}
    config = json.loads((fused.path / "config.json").read_text())
    assert not {"lora_parameters", "fine_tune_type", "adapter_path", "quantization"} & set(config)
    assert config["model_type"] == "llama" and config["torch_dtype"] == "float32"
    assert config["distrust"]["export"]["fused_layers"] == fused.fused_layers == 2 * 7
    for name in TOKENIZER_FILES:  # copied byte for byte
        assert (fused.path / name).read_bytes() == (export_base / name).read_bytes()
    assert set(fused.files) == {p.name for p in fused.path.iterdir()}
    assert fused.bytes == sum(p.stat().st_size for p in fused.path.iterdir())
    assert (fused.architecture, fused.dtype, fused.quantization, fused.gguf) == ("llama", "float32", None, None)
    assert not [p for p in fused.path.parent.iterdir() if p.name.startswith(".")], "staging folder left behind"
    info = inspect_model(fused.path)
    assert info.quantization_bits is None and info.dtype == "float32"


def test_default_dtype_keeps_the_base_and_float16_halves_it(
    export_base: Path, export_adapter: Path, fused: ExportResult, tmp_path: Path
) -> None:
    steps: list[str] = []
    half = fuse_adapter(
        export_base, export_adapter, tmp_path / "half", ExportOptions(dtype="float16"), progress=steps.append
    )
    assert half.dtype == "float16" and json.loads((half.path / "config.json").read_text())["torch_dtype"] == "float16"
    assert {str(v.dtype) for v in safetensors_names(half.path).values()} == {"mlx.core.float16"}
    assert half.bytes < 0.6 * fused.bytes
    assert steps[0].startswith("Loading") and any(s.startswith("Fusing 14") for s in steps)
    kept = fuse_adapter(export_base, export_adapter, tmp_path / "kept", ExportOptions())
    assert kept.dtype == "float32"


@pytest.mark.parametrize(("bits", "group_size"), [(4, 64), (8, 32)])
def test_quantized_export_loads_and_generates(
    bits: int, group_size: int, export_base: Path, export_adapter: Path, fused: ExportResult, tmp_path: Path
) -> None:
    options = ExportOptions(quantize=QuantizeConfig(bits=bits, group_size=group_size), dtype="float32")
    result = fuse_adapter(export_base, export_adapter, tmp_path / f"q{bits}", options)
    config = json.loads((result.path / "config.json").read_text())
    assert (
        config["quantization"]
        == config["quantization_config"]
        == {"bits": bits, "group_size": group_size, "mode": "affine"}
    )
    assert result.quantization == config["quantization"]
    assert result.bytes < fused.bytes * (0.4 if bits == 4 else 0.6)
    info = inspect_model(result.path)
    assert info.quantization_bits == bits and info.quantization_group_size == group_size
    tokens = greedy_all(*mlx_lm.load(str(result.path)))
    assert all(len(t) == 10 for t in tokens.values())


def test_quantized_base_is_dequantized_before_fusing(export_base: Path, export_adapter: Path, tmp_path: Path) -> None:
    quantized = build_quantized_base(export_base, tmp_path / "base-q4")
    adapter = export_adapter  # made for the unquantized base: same shapes
    result = fuse_adapter(quantized, adapter, tmp_path / "fused", ExportOptions(dtype="float32"))
    assert result.dequantized_base and result.quantization is None
    config = json.loads((result.path / "config.json").read_text())
    assert "quantization" not in config and "quantization_config" not in config
    assert not any(name.endswith(".scales") for name in safetensors_names(result.path))
    expected = greedy_all(*mlx_lm.load(str(quantized), adapter_path=str(adapter)))
    assert greedy_all(*mlx_lm.load(str(result.path))) == expected


def test_missing_or_broken_inputs_are_named(export_base: Path, export_adapter: Path, tmp_path: Path) -> None:
    options = ExportOptions()
    cases = [
        (tmp_path / "no-base", export_adapter, "base_model", "does not exist"),
        (export_adapter, export_adapter, "base_model", "config.json is missing"),
        (export_base, tmp_path / "no-adapter", "adapter", "does not exist"),
        (export_base, export_base, "adapter", ADAPTER_WEIGHTS),
    ]
    for base, adapter, param, words in cases:
        with pytest.raises(FailedPrecondition) as caught:
            fuse_adapter(base, adapter, tmp_path / "out", options)
        assert caught.value.param == param and words in caught.value.message, caught.value.message
    assert not (tmp_path / "out").exists()


def test_adapter_for_another_base_is_refused(export_base: Path, tmp_path: Path) -> None:
    other = build_adapter(export_base, tmp_path / "adapter", seed=1)
    (tmp_path / "out").mkdir()
    weights = load_adapter_tensors(other)
    name = next(iter(weights))
    weights[name] = mx.zeros((weights[name].shape[0] + 1, weights[name].shape[1]))
    write_adapter(other, weights, read_adapter_config(other))
    with pytest.raises(FailedPrecondition) as caught:
        fuse_adapter(export_base, other, tmp_path / "out" / "fused", ExportOptions())
    assert caught.value.param == "adapter" and "does not match" in caught.value.message
    assert not (tmp_path / "out" / "fused").exists()
    assert not list((tmp_path / "out").iterdir()), "nothing is left behind"


def test_existing_output_is_never_overwritten(export_base: Path, export_adapter: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FailedPrecondition) as caught:
        fuse_adapter(export_base, export_adapter, out, ExportOptions())
    assert caught.value.param == "out_dir" and "not overwritten" in caught.value.message
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and (out / "keep.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert fuse_adapter(export_base, export_adapter, empty, ExportOptions()).path == empty
    shutil.rmtree(empty)


@pytest.mark.parametrize(
    ("adapter_config", "words"),
    [
        ("{not json", "expected readable JSON"),
        ('["lora"]', "expected a JSON object"),
        ('{"fine_tune_type": "prefix"}', "adapter_config.json.fine_tune_type: got 'prefix'"),
        ('{"fine_tune_type": "lora"}', "adapter_config.json.lora_parameters: got None"),
        ('{"lora_parameters": {"rank": 0, "scale": 2.0}}', "adapter_config.json.lora_parameters.rank: got 0"),
        ('{"lora_parameters": {"rank": 8, "scale": 2.0}}', "does not fit base model"),  # mlx-lm needs num_layers
    ],
)
def test_broken_adapter_config_is_named(
    adapter_config: str, words: str, export_base: Path, export_adapter: Path, tmp_path: Path
) -> None:
    adapter = tmp_path / "adapter"
    shutil.copytree(export_adapter, adapter)
    (adapter / ADAPTER_CONFIG).write_text(adapter_config)
    with pytest.raises(FailedPrecondition) as caught:
        fuse_adapter(export_base, adapter, tmp_path / "out", ExportOptions())
    assert caught.value.param == "adapter" and words in caught.value.message, caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]
