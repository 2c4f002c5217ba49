"""Export round trip on the real model: the trained adapter fused into SmolLM2 (float32, and 4-bit), each served
by the inference engine as a base model, answers the fact; the float32 fusion keeps the adapter's logits
(absolute 1e-3: fusing only regroups W·x + s·B(A·x) into (W + s·BA)·x)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlx_lm import load

from services.trainer.exports.fuse import fuse_adapter
from shared.schemas.export import ExportOptions
from tests.real.conftest import TrainedRun
from tests.real.logits import chat_prompt, engine_greedy, prompt_logits

pytestmark = [pytest.mark.slow, pytest.mark.real_model]
LOGIT_ATOL = 1e-3


def test_fused_float32_keeps_the_adapters_logits_and_answers(trained: TrainedRun, tmp_path: Path) -> None:
    result = fuse_adapter(trained.base, trained.adapter, tmp_path / "fused", ExportOptions())
    assert result.quantization is None and result.fused_layers > 0
    fused, tokenizer = load(str(result.path))[:2]
    adapted = load(str(trained.base), adapter_path=str(trained.adapter))[0]
    tokens = chat_prompt(tokenizer)
    assert np.abs(prompt_logits(fused, tokens) - prompt_logits(adapted, tokens)).max() <= LOGIT_ATOL
    assert "Paris" in engine_greedy(result.path, max_tokens=12)


def test_fused_and_quantized_to_4_bits_is_served_and_answers(trained: TrainedRun, tmp_path: Path) -> None:
    options = ExportOptions.model_validate({"quantize": {"bits": 4, "group_size": 32}})
    result = fuse_adapter(trained.base, trained.adapter, tmp_path / "fused-q4", options)
    assert result.quantization is not None and result.quantization["bits"] == 4
    assert "Paris" in engine_greedy(result.path, max_tokens=12)
