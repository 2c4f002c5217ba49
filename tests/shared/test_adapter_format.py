"""The adapter format: what write_adapter writes mlx-lm loads and read_adapter_config / lora_pairs read back;
broken folders, configs and tensors are errors that name the field and the value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlx.core as mx
import mlx_lm
import numpy as np
import pytest

from services.trainer.models.tiny import build_tiny_model
from shared.adapter_format import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    AdapterConfig,
    LoraParameters,
    load_adapter_tensors,
    lora_pairs,
    parse_adapter_config,
    read_adapter_config,
    write_adapter,
)
from shared.errors import InvalidArgument, NotFound
from shared.schemas.fine_tuning import DistrustSpec

RANK = 4
PROMPT = [1, 5, 9, 13]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("adapter-format") / "base", hidden_size=64, num_layers=2)


@pytest.fixture(scope="module")
def tensors(base: Path) -> dict[str, mx.array]:
    model, _ = mlx_lm.load(str(base))
    key = mx.random.key(7)
    out: dict[str, mx.array] = {}
    for index, block in enumerate(model.layers):
        out_dims, in_dims = block.self_attn.q_proj.weight.shape
        key, ka, kb = mx.random.split(key, 3)
        out[f"model.layers.{index}.self_attn.q_proj.lora_a"] = mx.random.normal((in_dims, RANK), key=ka) * 0.1
        out[f"model.layers.{index}.self_attn.q_proj.lora_b"] = mx.random.normal((RANK, out_dims), key=kb)
    return out


def config() -> AdapterConfig:
    params = LoraParameters(rank=RANK, scale=2.0, dropout=0.0, keys=["self_attn.q_proj"])
    return AdapterConfig(num_layers=2, lora_parameters=params, lora_alpha=8.0, model="tiny")


def logits(base: Path, adapter: Path | None = None) -> np.ndarray:
    model, _ = mlx_lm.load(str(base), adapter_path=None if adapter is None else str(adapter))
    return np.array(model(mx.array([PROMPT]))[0])


def test_a_written_adapter_reads_back_and_mlx_lm_applies_it(
    base: Path, tensors: dict[str, mx.array], tmp_path: Path
) -> None:
    adapter = tmp_path / "adapter"
    write_adapter(adapter, tensors, config())
    assert sorted(p.name for p in adapter.iterdir()) == [ADAPTER_CONFIG, ADAPTER_WEIGHTS]  # nothing staged left
    assert read_adapter_config(adapter) == config()
    assert json.loads((adapter / ADAPTER_CONFIG).read_text())["lora_parameters"] == {
        "rank": RANK,
        "scale": 2.0,
        "dropout": 0.0,
        "keys": ["self_attn.q_proj"],
    }
    loaded = load_adapter_tensors(adapter)
    assert all(mx.array_equal(loaded[name], value).item() for name, value in tensors.items())
    pairs = lora_pairs(loaded, RANK)
    assert list(pairs) == ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"]
    assert not np.allclose(logits(base, adapter), logits(base))


def test_keys_of_others_are_kept_and_unset_ones_left_out() -> None:
    data = {"fine_tune_type": "full", "num_layers": 4, "iters": 10, "resume_adapter_file": None}
    parsed = parse_adapter_config(data)
    assert json.loads(parsed.to_json()) == data
    assert "lora_parameters" not in parsed.to_json()


def test_our_keys_are_typed_and_round_trip() -> None:
    written = config().model_copy(update={"distrust": DistrustSpec(mode="additive", lambda_=0.3), "trained_steps": 12})
    data = json.loads(written.to_json())
    assert data["distrust"]["lambda"] == 0.3 and data["trained_steps"] == 12
    parsed = parse_adapter_config(data)
    assert parsed == written and parsed.distrust == DistrustSpec(mode="additive", lambda_=0.3)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (["lora"], "adapter_config.json", "expected a JSON object"),
        ({"fine_tune_type": "prefix"}, "adapter_config.json.fine_tune_type", "got 'prefix'"),
        ({"fine_tune_type": "dora"}, "adapter_config.json.lora_parameters", "for a dora adapter"),
        ({"lora_parameters": {"rank": 0, "scale": 1.0}}, "adapter_config.json.lora_parameters.rank", "got 0"),
        ({"lora_parameters": {"rank": True, "scale": 1.0}}, "adapter_config.json.lora_parameters.rank", "got True"),
        ({"lora_parameters": {"rank": 8}}, "adapter_config.json.lora_parameters.scale", "required"),
        ({"lora_parameters": "r8"}, "adapter_config.json.lora_parameters", "expected a JSON object"),
        ({"lora_parameters": {"rank": 8, "scale": 2}, "model": 3}, "adapter_config.json.model", "got 3"),
        ({"fine_tune_type": "full", "trained_steps": -1}, "adapter_config.json.trained_steps", "got -1"),
        ({"fine_tune_type": "full", "distrust": {"mode": "x"}}, "adapter_config.json.distrust.mode", "got 'x'"),
        ({"fine_tune_type": "full", "distrust": {"alpha": 9.0}}, "adapter_config.json.distrust.alpha", "got 9.0"),
    ],
)
def test_a_broken_config_names_the_field(data: object, field: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_adapter_config(data)
    assert caught.value.param == field and words in caught.value.message, caught.value.message


def test_missing_folders_and_files_are_not_found(tensors: dict[str, mx.array], tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist") as caught:
        read_adapter_config(tmp_path / "gone")
    assert caught.value.param == "directory"
    write_adapter(tmp_path / "half", tensors, config())
    (tmp_path / "half" / ADAPTER_WEIGHTS).unlink()
    with pytest.raises(NotFound, match=f"has no {ADAPTER_WEIGHTS}"):
        read_adapter_config(tmp_path / "half")


def test_unreadable_files_name_the_file(tensors: dict[str, mx.array], tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    write_adapter(adapter, tensors, config())
    (adapter / ADAPTER_CONFIG).write_text("{not json")
    with pytest.raises(InvalidArgument, match="expected readable JSON") as caught:
        read_adapter_config(adapter)
    assert caught.value.param == ADAPTER_CONFIG
    (adapter / ADAPTER_WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(InvalidArgument, match="expected a readable safetensors file") as caught:
        load_adapter_tensors(adapter)
    assert caught.value.param == ADAPTER_WEIGHTS


def test_tensors_that_are_not_lora_pairs_of_the_rank_are_refused(tensors: dict[str, mx.array]) -> None:
    a_name = "model.layers.0.self_attn.q_proj.lora_a"
    b_name = "model.layers.0.self_attn.q_proj.lora_b"
    cases = [
        ({**tensors, "model.layers.0.self_attn.q_proj.weight": tensors[a_name]}, RANK, "only LoRA tensors"),
        ({k: v for k, v in tensors.items() if k != b_name}, RANK, "lora_b is missing"),
        (tensors, RANK + 1, f"rank {RANK + 1} as adapter_config.json says"),
        ({**tensors, b_name: mx.zeros((RANK + 1, 3))}, RANK, "lora_a [in, r] and lora_b [r, out]"),
        ({}, RANK, "the file holds none"),
    ]
    for case, rank, words in cases:
        with pytest.raises(InvalidArgument) as caught:
            lora_pairs(case, rank)
        assert caught.value.param == ADAPTER_WEIGHTS and words in caught.value.message, caught.value.message


def test_reading_a_config_does_not_import_mlx() -> None:
    code = "import sys, shared.adapter_format; sys.exit('mlx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
