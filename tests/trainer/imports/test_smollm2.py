"""The real model: SmolLM2-135M-Instruct's GGUF imported both ways answers a fact greedily in mlx-lm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlx_lm import load, stream_generate
from mlx_lm.sample_utils import make_sampler
from mlx_lm.tokenizer_utils import load as load_tokenizer

from services.trainer.imports import ImportOptions, import_gguf
from services.trainer.imports.gguf import file_sha256
from tests.helpers.smollm2 import smollm2_folder, smollm2_gguf

pytestmark = pytest.mark.real_model


def answer(model_dir: Path, question: str) -> str:
    model, tokenizer = load(str(model_dir))
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True)
    text = ""
    for response in stream_generate(model, tokenizer, prompt, max_tokens=12, sampler=make_sampler(temp=0.0)):
        text += response.text
        if "Paris" in text:
            break
    return text


@pytest.mark.parametrize("variant", ["smollm2_q4", "smollm2_float32"])
def test_answers_the_capital_of_france(variant: str, request: pytest.FixtureRequest) -> None:
    text = answer(request.getfixturevalue(variant), "What is the capital of France?")
    assert "Paris" in text, text


def test_kept_quantized_folder_is_4_bit_with_an_8_bit_embedding(smollm2_q4: Path) -> None:
    config = json.loads((smollm2_q4 / "config.json").read_text())
    assert config["quantization"] == {"group_size": 32, "bits": 4, "model.embed_tokens": {"group_size": 32, "bits": 8}}
    assert config["tie_word_embeddings"] is True
    tokenizer_config = json.loads((smollm2_q4 / "tokenizer_config.json").read_text())
    assert tokenizer_config["eos_token"] == "<|im_end|>"
    assert "<|im_start|>" in tokenizer_config["chat_template"]


def test_import_reports_what_it_read(tmp_path: Path) -> None:
    gguf = smollm2_gguf()
    result = import_gguf(gguf, tmp_path / "model", ImportOptions())
    assert (result.architecture, result.quantization, result.bits) == ("llama", "Q4_1", 4)
    assert result.parameter_count == 134_515_008
    assert result.sha256 == file_sha256(gguf)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_tokenizer_keeps_chat_markers_whole_and_round_trips(smollm2_q4: Path) -> None:
    tokenizer = load_tokenizer(smollm2_q4)
    text = "<|im_start|>user\nCafé prices rose 12% in 2024 — why?<|im_end|>\n"
    ids = tokenizer.encode(text)
    assert ids[0] == 1 and ids.count(2) == 1  # <|im_start|> and <|im_end|> are single tokens
    assert tokenizer.decode(ids) == text
    assert tokenizer.eos_token_ids == {2}


def test_the_cache_reuses_the_converted_folder(smollm2_q4: Path) -> None:
    before = (smollm2_q4 / "model.safetensors").stat().st_mtime_ns
    assert smollm2_folder("q4") == smollm2_q4
    assert (smollm2_q4 / "model.safetensors").stat().st_mtime_ns == before
