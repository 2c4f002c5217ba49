"""The built-in tiny Llama: opens in mlx-lm and transformers, chats, generates, and is reproducible."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlx.core as mx
import mlx_lm
import pytest
from transformers import AutoTokenizer

from services.trainer.models import TINY_MODEL_NAME, build_tiny_model, model_fingerprint
from services.trainer.models.tokenizer import CHAT_TEMPLATE, SPECIAL_TOKENS
from shared.errors import FailedPrecondition, InvalidArgument

MESSAGES = [
    {"role": "system", "content": "Cite your sources."},
    {"role": "user", "content": "Where was the letter found?"},
    {"role": "assistant", "content": "In the county record office, box 4."},
]
TEXT = "The harbour master's register, dated 4 May 1891, agrees with the diary — €12 paid, naïve café."


def test_default_name() -> None:
    assert TINY_MODEL_NAME == "distrust-tiny-llama"


def test_files_in_hugging_face_layout(tiny_model: Path) -> None:
    names = {p.name for p in tiny_model.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "generation_config.json",
    } <= names
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["model_type"] == "llama" and config["tie_word_embeddings"] is True
    assert (
        config["num_hidden_layers"],
        config["hidden_size"],
        config["num_attention_heads"],
        config["num_key_value_heads"],
        config["max_position_embeddings"],
    ) == (4, 256, 4, 2, 2048)
    assert json.loads((tiny_model / "tokenizer_config.json").read_text())["chat_template"] == CHAT_TEMPLATE
    assert not [p for p in tiny_model.parent.iterdir() if p.name.startswith(".")], "staging folder kept"


def test_mlx_lm_loads_and_generates(tiny_model: Path) -> None:
    model, tokenizer = mlx_lm.load(str(tiny_model))
    assert len(model.layers) == 4
    assert model.parameters()["model"]["embed_tokens"]["weight"].dtype == mx.float32
    prompt = tokenizer.apply_chat_template(MESSAGES[:2], add_generation_prompt=True)
    out = list(mlx_lm.stream_generate(model, tokenizer, prompt, max_tokens=12))
    assert 1 <= len(out) <= 12 and out[-1].generation_tokens == len(out)
    assert isinstance(mlx_lm.generate(model, tokenizer, "The archive", max_tokens=5), str)


def test_tokenizer_round_trips_text(tiny_model: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    assert len(tokenizer) == 3072
    ids = tokenizer.encode(TEXT)
    assert ids[0] == tokenizer.bos_token_id == 1
    assert tokenizer.decode(ids, skip_special_tokens=True) == TEXT
    assert tokenizer.decode(tokenizer.encode(TEXT, add_special_tokens=False)) == TEXT
    assert len(tokenizer.encode("evidence archive letters")) <= 5  # words of the corpus are single tokens
    for token in SPECIAL_TOKENS:
        assert tokenizer.convert_tokens_to_ids(token) < len(SPECIAL_TOKENS)
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1


def test_chat_template(tiny_model: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    full = tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    assert full == (
        "<|bos|><|system|>\nCite your sources.<|end|>\n"
        "<|user|>\nWhere was the letter found?<|end|>\n"
        "<|assistant|>\nIn the county record office, box 4.<|end|>\n"
    )
    prompt = tokenizer.apply_chat_template(MESSAGES[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|assistant|>\n") and full.startswith(prompt)
    assert not tokenizer.apply_chat_template(MESSAGES[:2], tokenize=False).endswith("<|assistant|>\n")
    ids = tokenizer.apply_chat_template(MESSAGES[:2], add_generation_prompt=True, tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[-2:] == tokenizer.encode(
        "<|assistant|>\n", add_special_tokens=False
    )
    with pytest.raises(Exception, match="roles are supported"):
        tokenizer.apply_chat_template([{"role": "tool", "content": "x"}], tokenize=False)


def test_generation_stops_at_end_of_turn(tiny_model: Path) -> None:
    _, tokenizer = mlx_lm.load(str(tiny_model))
    assert tokenizer.eos_token_ids == {2, 6}
    assert tokenizer.convert_tokens_to_ids("<|end|>") == 6


def test_same_seed_same_bytes_other_seed_differs(tiny_model: Path, tmp_path: Path) -> None:
    again = build_tiny_model(tmp_path / "again", seed=0)
    assert model_fingerprint(again) == model_fingerprint(tiny_model)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (tiny_model / name).read_bytes()
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert model_fingerprint(other) != model_fingerprint(tiny_model)
    assert (other / "tokenizer.json").read_bytes() == (tiny_model / "tokenizer.json").read_bytes()


def test_fingerprint_sees_any_change(tiny_model: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_model, tmp_path / "copy"))
    assert model_fingerprint(copy) == model_fingerprint(tiny_model)
    (copy / ".complete").write_text("marker")  # hidden files are not part of the model
    assert model_fingerprint(copy) == model_fingerprint(tiny_model)
    (copy / "generation_config.json").write_text("{}")
    assert model_fingerprint(copy) != model_fingerprint(tiny_model)


def test_sizes_are_parameters(tmp_path: Path) -> None:
    path = build_tiny_model(
        tmp_path / "m",
        seed=3,
        vocab_size=1024,
        hidden_size=64,
        num_layers=2,
        num_heads=2,
        num_kv_heads=1,
        intermediate_size=128,
        context_length=256,
        dtype="bfloat16",
    )
    model, tokenizer = mlx_lm.load(str(path))
    assert len(model.layers) == 2 and len(tokenizer._tokenizer) == 1024
    assert model.parameters()["model"]["norm"]["weight"].dtype == mx.bfloat16
    assert mlx_lm.generate(model, tokenizer, "Hello", max_tokens=3) is not None


def test_existing_folders(tiny_model: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert model_fingerprint(build_tiny_model(empty)) == model_fingerprint(tiny_model)
    assert build_tiny_model(empty) == empty  # the same model again: kept
    with pytest.raises(FailedPrecondition, match="different"):
        build_tiny_model(empty, seed=1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(FailedPrecondition):
        build_tiny_model(other)
    assert (other / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "other"]


BAD_SIZES = [
    ("num_heads", 3),
    ("num_kv_heads", 3),
    ("hidden_size", 8),
    ("vocab_size", 100_000),
    ("vocab_size", 8000),
    ("dtype", "int8"),
    ("seed", -1),
]


@pytest.mark.parametrize(("field", "value"), BAD_SIZES)
def test_bad_sizes(tmp_path: Path, field: str, value: object) -> None:
    with pytest.raises(InvalidArgument) as err:
        build_tiny_model(tmp_path / "m", **{field: value})  # type: ignore[arg-type]
    assert err.value.param == field
    assert not (tmp_path / "m").exists()
