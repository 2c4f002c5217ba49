"""Embeddings of the real SmolLM2-135M-Instruct place a paraphrase closer than an unrelated sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.inference.engine import Engine

pytestmark = pytest.mark.real_model


def test_a_paraphrase_is_nearer_than_an_unrelated_sentence(smollm2_base: Path) -> None:
    with Engine(smollm2_base) as engine:
        result = engine.embed(
            ["Paris is the capital of France.", "The capital city of France is Paris.", "Bananas are yellow."]
        )
    anchor, paraphrase, unrelated = (np.array(v) for v in result.vectors)
    assert float(anchor @ paraphrase) > float(anchor @ unrelated) + 0.01, (anchor @ paraphrase, anchor @ unrelated)
