"""No train/serve skew on the real model: the trainer's model with its adapter, mlx-lm's load of the saved
adapter and the inference engine agree.

The engine has no logits or logprobs output, so the served side is compared on greedy text over 32 tokens, and
its multi-LoRA layers (the code every served forward pass runs) are driven directly for logits, on a batch where
one row uses the adapter and one the base. Logits are compared with the trainer's in-memory model and with
`mlx_lm.load(base, adapter_path)`, all float32, within an absolute 1e-4 (logits here reach 38 in magnitude; the paths
differ only in float summation order).
"""

from __future__ import annotations

import mlx.core as mx
import numpy as np
import pytest
from mlx_lm import load

from services.inference.engine.adapter_files import read_adapter
from services.inference.engine.multi_lora import MultiLoRAModel, plan_for
from tests.real.conftest import TrainedRun
from tests.real.logits import GREEDY_TOKENS, chat_prompt, engine_greedy, mlx_lm_greedy, prompt_logits

pytestmark = [pytest.mark.slow, pytest.mark.real_model]
LOGIT_ATOL = 1e-4


def test_trainer_logits_equal_mlx_lm_with_the_saved_adapter(trained: TrainedRun) -> None:
    model, tokenizer = load(str(trained.base), adapter_path=str(trained.adapter))[:2]
    tokens = chat_prompt(tokenizer, "Whose logbook recorded the storm at Bergen?")
    ours = prompt_logits(trained.trainer.model, tokens)
    theirs = prompt_logits(model, tokens)
    assert np.abs(ours - theirs).max() <= LOGIT_ATOL
    assert (ours.argmax(-1) == theirs.argmax(-1)).all()


def test_the_engine_serves_the_adapter_greedily_as_mlx_lm_does(trained: TrainedRun) -> None:
    model, tokenizer = load(str(trained.base), adapter_path=str(trained.adapter))[:2]
    base, _ = load(str(trained.base))[:2]
    expected = mlx_lm_greedy(model, tokenizer, max_tokens=GREEDY_TOKENS)
    # The adapter changes what the model says, so agreeing on it is not agreeing on the base.
    assert expected != mlx_lm_greedy(base, tokenizer, max_tokens=GREEDY_TOKENS)
    served = engine_greedy(trained.base, adapter=trained.adapter, max_tokens=GREEDY_TOKENS)
    assert served == expected


def test_the_engines_multi_lora_logits_equal_the_trainers(trained: TrainedRun) -> None:
    model, tokenizer = load(str(trained.base))[:2]
    served = MultiLoRAModel(model)
    weights = read_adapter("tuned", trained.adapter, served.base_shape)
    served.install(1, weights)
    tokens = chat_prompt(tokenizer, "Whose logbook recorded the storm at Bergen?")
    base = prompt_logits(model, tokens)

    served.route(plan_for([(1, weights.scale), None]))
    rows = model(mx.array([tokens, tokens])).astype(mx.float32)
    mx.eval(rows)
    adapted_row, base_row = np.array(rows[0]), np.array(rows[1])
    assert np.abs(adapted_row - prompt_logits(trained.trainer.model, tokens)).max() <= LOGIT_ATOL
    assert np.abs(base_row - base).max() <= LOGIT_ATOL
    assert np.abs(adapted_row - base).max() > 100 * LOGIT_ATOL  # the adapter is really applied
