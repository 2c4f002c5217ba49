"""The effect experiment's synthetic corpus: deterministic, balanced, valid records, two distinguishable
distributions. No training here (the settings were tuned by hand; see `ExperimentSettings`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.effect_corpus import (
    EXPERIMENT_SETTINGS,
    HIGH_SOURCE_TYPE,
    HIGH_VOCABULARY,
    LOW_SOURCE_TYPE,
    LOW_VOCABULARY,
    SHARED_WORDS,
    build_effect_corpus,
    words_of,
    write_jsonl,
)
from services.trainer.core.config import TrainSettings
from services.trainer.core.distrust import band_of, training_weights
from shared.errors import InvalidArgument
from shared.records import validate_training_record


def test_same_seed_same_records_and_different_seed_different_records() -> None:
    a = build_effect_corpus(3, n_train=64, n_val=16)
    b = build_effect_corpus(3, n_train=64, n_val=16)
    c = build_effect_corpus(4, n_train=64, n_val=16)
    assert a.train == b.train and a.validation == b.validation
    assert a.train != c.train
    assert json.dumps(a.train) == json.dumps(b.train)  # same order, same floats


@pytest.mark.parametrize(("n_train", "n_val"), [(64, 16), (33, 5), (2, 2)])
def test_sizes_and_bands_are_balanced(n_train: int, n_val: int) -> None:
    corpus = build_effect_corpus(0, n_train=n_train, n_val=n_val)
    for records, n in ((corpus.train, n_train), (corpus.validation, n_val)):
        assert len(records) == n
        bands = [band_of(r["auth_weight"]) for r in records]
        assert bands.count("low") == n // 2
        assert bands.count("high") == n - n // 2
        assert "mid" not in bands
        assert len(corpus.split(records, "low")) == n // 2


def test_records_follow_the_training_contract_and_sit_in_their_bands() -> None:
    corpus = build_effect_corpus(1, n_train=200, n_val=50)
    for record in corpus.train + corpus.validation:
        assert validate_training_record(record, require_scores=True) == "text"
        assert set(record) == {"text", "auth_weight", "prov_entropy", "source_type"}
        w, h = record["auth_weight"], record["prov_entropy"]
        if record["source_type"] == LOW_SOURCE_TYPE:
            assert band_of(w) == "low" and abs(w - 0.05) <= 0.02 + 1e-9 and abs(h - 7.5) <= 0.25 + 1e-9
        else:
            assert record["source_type"] == HIGH_SOURCE_TYPE
            assert band_of(w) == "high" and abs(w - 0.9) <= 0.02 + 1e-9 and abs(h - 1.0) <= 0.25 + 1e-9


def test_validation_is_held_out() -> None:
    corpus = build_effect_corpus(2, n_train=512, n_val=128)
    train_texts = {r["text"] for r in corpus.train}
    assert len(train_texts) == len(corpus.train)
    assert not train_texts & {r["text"] for r in corpus.validation}


def test_the_two_distributions_use_disjoint_marker_vocabularies() -> None:
    assert not LOW_VOCABULARY & HIGH_VOCABULARY
    assert len(LOW_VOCABULARY) >= 40 and len(HIGH_VOCABULARY) >= 40
    assert {"the", "of", "and", "in", "from", "a", "to", "at", "by", "is"} >= SHARED_WORDS
    corpus = build_effect_corpus(5, n_train=100, n_val=20)
    for record in corpus.train + corpus.validation:
        words = words_of(record["text"]) - SHARED_WORDS
        own, other = (
            (LOW_VOCABULARY, HIGH_VOCABULARY)
            if record["source_type"] == LOW_SOURCE_TYPE
            else (HIGH_VOCABULARY, LOW_VOCABULARY)
        )
        assert words <= own, words - own
        assert not words & other
        assert len(words) >= 8


def test_weighted_mode_puts_the_weight_on_the_primary_sources() -> None:
    corpus = build_effect_corpus(0, n_train=EXPERIMENT_SETTINGS.n_train, n_val=8)
    settings = EXPERIMENT_SETTINGS.train_settings(model_path=Path("m"), train_path=Path("t"), mode="weighted", seed=0)
    weights = training_weights(
        [r["auth_weight"] for r in corpus.train], [r["prov_entropy"] for r in corpus.train], settings.distrust
    )
    low = [o for o, r in zip(weights.omega, corpus.train, strict=True) if r["source_type"] == LOW_SOURCE_TYPE]
    high = [o for o, r in zip(weights.omega, corpus.train, strict=True) if r["source_type"] == HIGH_SOURCE_TYPE]
    assert min(low) > 1.5 and max(high) < 0.15


def test_experiment_settings_make_valid_train_settings() -> None:
    e = EXPERIMENT_SETTINGS
    for mode in ("none", "weighted"):
        s = e.train_settings(model_path=Path("m"), train_path=Path("t"), mode=mode, seed=7)
        assert isinstance(s, TrainSettings)
        s.validate()
        assert s.distrust.mode == mode and s.seed == 7 and s.hyperparameters.max_steps == e.steps
        assert s.hyperparameters.n_epochs * -(-e.n_train // e.batch_size) >= e.steps  # the epochs hold every step
    assert e.weighting in ("plain", "monotone") and e.n_train % 2 == 0 and e.n_val % 2 == 0
    assert json.loads(json.dumps(e.to_dict()))["steps"] == e.steps


def test_write_jsonl_and_corpus_files(tmp_path: Path) -> None:
    corpus = build_effect_corpus(0, n_train=10, n_val=6)
    paths = corpus.write(tmp_path / "data")
    lines = paths["train"].read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == corpus.train
    assert len(paths["validation_low"].read_text().splitlines()) == 3
    assert len(paths["validation_high"].read_text().splitlines()) == 3
    out = write_jsonl(tmp_path / "x.jsonl", [{"text": "é"}])
    assert out.read_bytes() == '{"text": "é"}\n'.encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "x.jsonl"]  # no temp file left


@pytest.mark.parametrize(
    ("n_train", "n_val", "field"),
    [(1, 4, "n_train"), (4, 0, "n_val"), (4.0, 4, "n_train"), (True, 4, "n_train"), (4, 10**6, "n_val")],
)
def test_bad_sizes_are_refused_naming_the_field(n_train: int, n_val: int, field: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        build_effect_corpus(0, n_train=n_train, n_val=n_val)
    assert error.value.param == field
