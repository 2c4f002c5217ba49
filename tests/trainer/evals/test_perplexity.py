"""Perplexity by authority band: the arithmetic on fixed numbers, and the model path against a manual computation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.trainer.core.tokenization import Tokenization
from services.trainer.evals.perplexity import (
    aggregate_bands,
    band_perplexity,
    load_records,
    perplexity_from_nll,
)
from shared.errors import InvalidArgument
from tests.trainer.evals.builders import manual_logprobs, write_jsonl

RECORDS = [
    {"text": "Field notes: the river was measured at dawn.", "auth_weight": 0.05},
    {"text": "The agency statement says the consensus is settled.", "auth_weight": 0.9},
    {"prompt": "What did the witness see?", "completion": " A comet over the village.", "auth_weight": 0.2},
    {"text": "A report summarises the archive.", "auth_weight": 0.5},
    {
        "messages": [{"role": "user", "content": "Source?"}, {"role": "assistant", "content": "The original patent."}],
        "auth_weight": 0.3,
    },
    {"text": "Officials agree, says the official report of the year.", "auth_weight": 0.71},
]


def test_perplexity_from_nll() -> None:
    assert perplexity_from_nll(10 * math.log(4.0), 10) == pytest.approx(4.0)
    assert perplexity_from_nll(0.0, 3) == 1.0
    assert perplexity_from_nll(5.0, 0) is None
    assert perplexity_from_nll(1e6, 1) == math.inf


def test_band_aggregation_on_fixed_numbers() -> None:
    report = aggregate_bands(
        [
            (0.05, 2.0, 2),
            (0.29, 4.0, 2),  # low: 6 nats / 4 tokens
            (0.3, 3.0, 3),
            (0.7, 1.0, 1),  # mid (both edges are mid): 4 / 4
            (0.71, 10.0, 4),  # high: 10 / 4
        ]
    )
    assert report.bands["low"].examples == 2 and report.bands["low"].tokens == 4
    assert report.bands["low"].perplexity == pytest.approx(math.exp(1.5))
    assert report.bands["mid"].examples == 2 and report.bands["mid"].perplexity == pytest.approx(math.e)
    assert report.bands["high"].perplexity == pytest.approx(math.exp(2.5))
    assert report.overall.tokens == 12 and report.overall.perplexity == pytest.approx(math.exp(20 / 12))
    assert report.distrust_ratio == pytest.approx(math.exp(2.5) / math.exp(1.5))
    out = report.to_dict()
    assert out["bands"]["mid"]["mean_nll"] == pytest.approx(1.0)
    assert out["distrust_ratio"] == pytest.approx(math.e)
    assert out["examples"] == 5 and out["tokens"] == 12


def test_distrust_ratio_needs_both_bands() -> None:
    only_low = aggregate_bands([(0.1, 3.0, 3)])
    assert only_low.distrust_ratio is None
    assert only_low.bands["high"].perplexity is None
    assert only_low.to_dict()["bands"]["high"] == {
        "examples": 0,
        "tokens": 0,
        "sum_nll": 0.0,
        "mean_nll": None,
        "perplexity": None,
        "rule": "w > 0.7",
    }


@pytest.mark.parametrize("fixture", ["chat_model", "plain_model"])
def test_model_path_matches_manual_computation(fixture: str, request: pytest.FixtureRequest) -> None:
    model, tokenizer = request.getfixturevalue(fixture)
    records = RECORDS if fixture == "chat_model" else [r for r in RECORDS if "messages" not in r]
    report = band_perplexity(model, tokenizer, records, max_seq_length=64, batch_size=2)
    tokenization = Tokenization(tokenizer, max_seq_length=64, completion_only=True)
    sums = {"low": [0.0, 0], "mid": [0.0, 0], "high": [0.0, 0]}
    for record in records:
        tokens, mask = tokenization.encode(record)
        nll = -(manual_logprobs(model, tokens.tolist()) * mask).sum()
        w = record["auth_weight"]
        band = "low" if w < 0.3 else "mid" if w <= 0.7 else "high"
        sums[band][0] += nll
        sums[band][1] += int(mask.sum())
    for band, (total, count) in sums.items():
        assert report.bands[band].tokens == count
        assert report.bands[band].perplexity == pytest.approx(math.exp(total / count), rel=1e-4)
    assert report.distrust_ratio == pytest.approx(
        math.exp(sums["high"][0] / sums["high"][1] - sums["low"][0] / sums["low"][1]), rel=1e-4
    )
    # completion-only, as training: the prompt of the prompt/completion record is not counted
    prompt_record = RECORDS[2]
    tokens, mask = tokenization.encode(prompt_record)
    assert 0 < mask.sum() < len(tokens) - 1


def test_records_without_loss_tokens_are_skipped(plain_model: tuple[Any, Any]) -> None:
    model, tokenizer = plain_model
    records = [
        {"prompt": "word " * 40, "completion": " cut off", "auth_weight": 0.1},
        {"text": "The letter.", "auth_weight": 0.1},
    ]
    report = band_perplexity(model, tokenizer, records, max_seq_length=16, lines=[7, 9])
    assert report.skipped_lines == (7,)
    assert report.bands["low"].examples == 1


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ({"text": "no score"}, ["line 2", "auth_weight"]),
        ({"text": "bad", "auth_weight": 1.5}, ["line 2", "auth_weight", "1.5"]),
        ({"text": "bad", "auth_weight": "high"}, ["line 2", "auth_weight"]),
        ({"prompt": "p", "chosen": "a", "rejected": "b", "auth_weight": 0.1}, ["line 2", "preference"]),
        ({"auth_weight": 0.1}, ["line 2", "no training content"]),
    ],
)
def test_bad_records_name_the_line_and_field(
    plain_model: tuple[Any, Any], record: dict[str, Any], words: list[str]
) -> None:
    model, tokenizer = plain_model
    with pytest.raises(InvalidArgument) as err:
        band_perplexity(
            model, tokenizer, [{"text": "fine", "auth_weight": 0.2}, record], max_seq_length=32, field="tasks[0].file"
        )
    assert err.value.param == "tasks[0].file"
    for word in words:
        assert word in err.value.message


def test_load_records_reports_file_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "val.jsonl", [RECORDS[0], RECORDS[1], {"text": "unscored"}], blank_after=1)
    with pytest.raises(InvalidArgument) as err:
        load_records(path, field="tasks[2].file")
    assert "line 4" in err.value.message and err.value.param == "tasks[2].file"
    records, lines = load_records(path, limit=2)
    assert lines == [1, 3] and records[1]["auth_weight"] == 0.9
    bad_json = write_jsonl(tmp_path / "bad.jsonl", [RECORDS[0], "{not json"])
    with pytest.raises(InvalidArgument, match="line 2"):
        load_records(bad_json)


def test_adapter_changes_band_perplexity(chat_model_dir: Path, tmp_path: Path) -> None:
    import mlx_lm

    from tests.helpers.random_adapter import write_random_adapter

    base, tokenizer = mlx_lm.load(str(chat_model_dir))
    adapter_dir = write_random_adapter(tmp_path / "adapter", base, seed=1, rank=4, magnitude=0.5)
    tuned, _ = mlx_lm.load(str(chat_model_dir), adapter_path=str(adapter_dir))
    a = band_perplexity(base, tokenizer, RECORDS, max_seq_length=64)
    b = band_perplexity(tuned, tokenizer, RECORDS, max_seq_length=64)
    assert a.bands["low"].tokens == b.bands["low"].tokens
    assert not np.isclose(a.bands["low"].perplexity, b.bands["low"].perplexity, rtol=1e-4)
