"""The alias gate's verdict and the task it runs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.trainer.jobs.alias_gate import GateResult
from shared.schemas.alias_gate import AliasGate


def _result(candidate: float | None, incumbent: float | None, tolerance: float = 0.0) -> GateResult:
    return GateResult("authority.pass_rate", "ft:new", "ft:old", candidate, incumbent, tolerance)


def test_the_new_model_takes_the_alias_unless_it_scores_lower_beyond_the_tolerance() -> None:
    assert _result(0.5, 0.5).passed and _result(0.6, 0.5).passed
    assert not _result(0.4, 0.5).passed and _result(0.4, 0.5, tolerance=0.1).passed
    assert _result(0.1, None).passed and not _result(None, 0.5).passed
    assert _result(0.4, 0.5).describe("ft:alias:bot").endswith("ft:alias:bot stays at ft:old")
    assert "new 0.600 vs current 0.500" in _result(0.6, 0.5).describe("ft:alias:bot")


def test_each_metric_names_its_built_in_task() -> None:
    assert AliasGate(metric="authority.pass_rate", limit=3).task() == {
        "type": "suite",
        "suite": "authority",
        "name": "authority",
        "limit": 3,
    }
    assert AliasGate(metric="source_preference.accuracy").task() == {
        "type": "source_preference",
        "name": "source_preference",
    }
    with pytest.raises(ValidationError):
        AliasGate(metric="perplexity.ppl_low")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        AliasGate(metric="authority.pass_rate", tolerance=2)
