"""The loop: real accumulation, exact resume, adapters mlx-lm loads, validation loss, stopping, reports."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten
from mlx_lm import load

from services.trainer.core.checkpoint import read_checkpoint
from services.trainer.core.config import TrainSettings
from services.trainer.core.trainer import StepReport, Trainer
from shared.adapter_format import (
    ADAPTER_FILES,
    ADAPTER_WEIGHTS,
    LoraParameters,
    load_adapter_tensors,
    read_adapter_config,
)
from shared.errors import FailedPrecondition, InvalidArgument
from shared.schemas.fine_tuning import DistrustSpec, LoraSpec

Settings = Callable[..., TrainSettings]


def adapters(trainer: Trainer) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in tree_flatten(trainer.model.trainable_parameters())}


def assert_same_adapters(a: dict[str, np.ndarray], b: dict[str, np.ndarray], atol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        np.testing.assert_allclose(value, b[key], atol=atol, rtol=0, err_msg=key)


def test_accumulation_equals_the_larger_batch(settings_for: Settings, records: Callable[..., Any]) -> None:
    data = records(10, seed=3)  # 10 examples, 4 per step: 3 steps per epoch, the last one with 2 examples
    # (a moderate learning rate: Adam divides by sqrt(v), which turns float rounding in near-zero gradients
    # into update differences of the order of the learning rate)
    big = Trainer(settings_for(data, batch_size=4, gradient_accumulation_steps=1, n_epochs=2, learning_rate=1e-3))
    small = Trainer(settings_for(data, batch_size=2, gradient_accumulation_steps=2, n_epochs=2, learning_rate=1e-3))
    assert big.total_steps == small.total_steps == 6
    g_big, g_small = big.step_gradients(0)[2], small.step_gradients(0)[2]
    for key in g_big:
        np.testing.assert_allclose(np.array(g_small[key]), np.array(g_big[key]), atol=1e-6, rtol=1e-5)
    big_reports, small_reports = list(big.run()), list(small.run())
    for a, b in zip(big_reports, small_reports, strict=True):
        assert (a.step, a.tokens, a.epoch) == (b.step, b.tokens, b.epoch)
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-5)
        assert b.ce == pytest.approx(a.ce, rel=1e-5)
    assert_same_adapters(adapters(big), adapters(small))


def test_resume_continues_exactly(settings_for: Settings, records: Callable[..., Any], tmp_path: Path) -> None:
    data, val = records(12, seed=4), records(4, seed=9)
    # dropout makes the RNG state matter; 3 epochs of 2 steps cross epoch boundaries after the resume
    settings = settings_for(
        data,
        val,
        batch_size=3,
        gradient_accumulation_steps=2,
        n_epochs=3,
        warmup_steps=2,
        lora=LoraSpec(rank=4, alpha=8.0, dropout=0.1),
        eval_every_steps=2,
    )
    straight = Trainer(settings)
    full = list(straight.run())
    assert len(full) == straight.total_steps == 6

    first = Trainer(settings)
    head = list(first.run(should_stop=lambda: first.step >= 3))
    assert [r.step for r in head] == [1, 2, 3] and first.step == 3
    first.save_checkpoint(tmp_path / "ck")
    names = sorted(p.name for p in (tmp_path / "ck").iterdir())
    assert names == sorted([*ADAPTER_FILES, "manifest.json", "optimizer.safetensors", "trainer_state.json"])
    checkpoint_config = read_checkpoint(tmp_path / "ck").adapter_config
    assert checkpoint_config.trained_steps == 3 and checkpoint_config.distrust == settings.distrust
    manifest = json.loads((tmp_path / "ck" / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["step"] == 3
    state = json.loads((tmp_path / "ck" / "trainer_state.json").read_text())
    assert (state["epoch"], state["index"]) == (1, 6)

    resumed = Trainer(settings)
    resumed.restore(tmp_path / "ck")
    assert resumed.step == 3
    tail = list(resumed.run())
    assert [r.step for r in tail] == [4, 5, 6]
    for a, b in zip(full[3:], tail, strict=True):
        assert (a.step, a.epoch, a.tokens) == (b.step, b.epoch, b.tokens)
        assert b.train_loss == pytest.approx(a.train_loss, abs=1e-5)
        assert b.learning_rate == pytest.approx(a.learning_rate)
        assert (a.val_loss is None) == (b.val_loss is None)
        if a.val_loss is not None:
            assert b.val_loss == pytest.approx(a.val_loss, abs=1e-5)
    assert_same_adapters(adapters(straight), adapters(resumed))
    # the restored optimizer state carried on too
    opt_a = dict(tree_flatten(straight.optimizer.state))
    opt_b = dict(tree_flatten(resumed.optimizer.state))
    assert int(opt_a["step"]) == int(opt_b["step"]) == 6
    for key, value in opt_a.items():
        np.testing.assert_allclose(np.array(opt_b[key]), np.array(value), atol=1e-5, rtol=0, err_msg=key)


def test_bad_checkpoints_fail_clearly_and_change_nothing(
    settings_for: Settings, records: Callable[..., Any], tmp_path: Path
) -> None:
    data = records(8, seed=2)
    trainer = Trainer(settings_for(data, batch_size=2, max_steps=2))
    list(trainer.run())
    good = tmp_path / "good"
    trainer.save_checkpoint(good)

    fresh = Trainer(settings_for(data, batch_size=2, max_steps=2))
    before = adapters(fresh)
    with pytest.raises(FailedPrecondition, match="does not exist"):
        fresh.restore(tmp_path / "nowhere")
    for name, damage in [
        ("manifest.json", "delete"),
        (ADAPTER_WEIGHTS, "flip"),
        ("optimizer.safetensors", "delete"),
        ("trainer_state.json", "flip"),
        ("manifest.json", "garbage"),
    ]:
        bad = tmp_path / f"bad-{name}-{damage}"
        shutil.copytree(good, bad)
        target = bad / name
        if damage == "delete":
            target.unlink()
        elif damage == "garbage":
            target.write_text("{not json")
        else:
            raw = bytearray(target.read_bytes())
            raw[len(raw) // 2] ^= 0xFF
            target.write_bytes(bytes(raw))
        with pytest.raises(FailedPrecondition) as err:
            fresh.restore(bad)
        assert str(bad) in err.value.message
    other = Trainer(settings_for(data, batch_size=4, max_steps=2))
    with pytest.raises(FailedPrecondition, match="batch_size"):
        other.restore(good)
    changed_data = Trainer(settings_for(records(8, seed=3), batch_size=2, max_steps=2))
    with pytest.raises(FailedPrecondition, match="training data"):
        changed_data.restore(good)
    assert fresh.step == 0
    assert_same_adapters(before, adapters(fresh), atol=0)
    fresh.restore(good)
    assert fresh.step == 2


def _as_legacy(checkpoint: Path, target: Path) -> Path:
    """A copy of `checkpoint` as written before `precision` and `quantize_base` were settings."""
    shutil.copytree(checkpoint, target)
    state_path, manifest_path = target / "trainer_state.json", target / "manifest.json"
    state = json.loads(state_path.read_text())
    for key in ("precision", "quantize_base"):
        del state["settings"][key]
    state_path.write_text(json.dumps(state))
    manifest = json.loads(manifest_path.read_text())
    raw = state_path.read_bytes()
    manifest["files"]["trainer_state.json"] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    manifest_path.write_text(json.dumps(manifest))
    return target


def test_a_checkpoint_from_before_precision_resumes_a_float32_run_only(
    settings_for: Settings, records: Callable[..., Any], tmp_path: Path
) -> None:
    data = records(8, seed=2)
    trainer = Trainer(settings_for(data, batch_size=2, max_steps=2, precision="float32"))
    list(trainer.run())
    trainer.save_checkpoint(tmp_path / "now")
    legacy = _as_legacy(tmp_path / "now", tmp_path / "legacy")

    resumed = Trainer(settings_for(data, batch_size=2, max_steps=2, precision="float32"))
    resumed.restore(legacy)
    assert resumed.step == 2
    quantized = Trainer(settings_for(data, batch_size=2, max_steps=2, precision="float32", quantize_base=8))
    with pytest.raises(FailedPrecondition, match="quantize_base"):
        quantized.restore(legacy)


def test_saved_adapter_loads_in_mlx_lm_with_the_same_logits(
    settings_for: Settings, records: Callable[..., Any], tiny_model: Path, tmp_path: Path
) -> None:
    lora = LoraSpec(rank=4, alpha=12.0, layers=1, keys=["self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"])
    trainer = Trainer(settings_for(records(8, seed=6), batch_size=2, n_epochs=1, lora=lora))
    list(trainer.run())
    out = tmp_path / "adapter"
    trainer.save_adapter(out)
    assert sorted(p.name for p in out.iterdir()) == sorted(ADAPTER_FILES)
    config = read_adapter_config(out)
    assert config.fine_tune_type == "lora" and config.num_layers == 1 and config.lora_alpha == 12.0
    assert config.lora_parameters == LoraParameters(rank=4, scale=3.0, dropout=0.0, keys=list(lora.keys))
    assert config.model == str(tiny_model) and config.trained_steps == trainer.step
    assert config.distrust == trainer.settings.distrust
    saved = load_adapter_tensors(out)
    assert sorted(saved) == sorted(adapters(trainer)) and all(k.startswith("model.layers.1.") for k in saved)

    model, _ = load(str(tiny_model), adapter_path=str(out))
    tokens = mx.array([trainer.examples[0].tokens.tolist()])
    trainer.model.eval()
    np.testing.assert_allclose(np.array(model(tokens)), np.array(trainer.model(tokens)), atol=1e-5, rtol=0)
    base, _ = load(str(tiny_model))
    assert not np.allclose(np.array(base(tokens)), np.array(model(tokens)), atol=1e-4)  # the adapter matters

    # and the mlx-lm command line uses it unchanged
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlx_lm",
            "generate",
            "--model",
            str(tiny_model),
            "--adapter-path",
            str(out),
            "--prompt",
            "Where is the letter?",
            "--max-tokens",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Generation: 4 tokens" in done.stdout


def test_validation_loss_and_reports(settings_for: Settings, records: Callable[..., Any]) -> None:
    val = records(5, seed=8, scores=False)  # validation records need no scores
    trainer = Trainer(
        settings_for(records(8, seed=7), val, batch_size=2, eval_every_steps=3, distrust=DistrustSpec(mode="none"))
    )
    reports = list(trainer.run())
    assert [r.step for r in reports] == [1, 2, 3, 4] and trainer.step == trainer.total_steps == 4
    assert [r.val_loss is not None for r in reports] == [False, False, True, True]
    # the reported validation loss is the token-weighted mean CE over the whole validation set
    trainer.model.eval()
    total, count = 0.0, 0
    for example in trainer.val_examples:
        tokens = mx.array(example.tokens[None])
        logits = trainer.model(tokens[:, :-1])
        ce = mx.logsumexp(logits, axis=-1) - mx.take_along_axis(logits, tokens[:, 1:, None], axis=-1)[..., 0]
        total += float((ce[0] * mx.array(example.mask)).sum())
        count += example.n_loss_tokens
    assert reports[-1].val_loss == pytest.approx(total / count, rel=1e-5)
    assert trainer.evaluate() == pytest.approx(total / count, rel=1e-5)
    for r in reports:
        assert isinstance(r, StepReport) and r.total_steps == 4 and r.tokens > 0
        assert r.train_loss == pytest.approx(r.ce, rel=1e-6)  # mode none: the loss is the plain CE
        assert r.tokens_per_second > 0 and r.peak_memory_gb > 0 and r.grad_norm > 0
    assert reports[-1].ce < reports[0].ce  # it learns


def test_should_stop_and_max_steps(settings_for: Settings, records: Callable[..., Any]) -> None:
    trainer = Trainer(settings_for(records(8, seed=1), batch_size=2, n_epochs=5, max_steps=7))
    assert trainer.total_steps == 7
    assert list(trainer.run(should_stop=lambda: True)) == [] and trainer.step == 0
    calls = []
    got = list(trainer.run(should_stop=lambda: calls.append(1) or len(calls) > 2))
    assert [r.step for r in got] == [1, 2] and trainer.step == 2
    assert [r.step for r in trainer.run()] == [3, 4, 5, 6, 7]
    assert list(trainer.run()) == []


def test_weight_summary_per_band(settings_for: Settings) -> None:
    scores = [(0.05, 7.5), (0.1, 6.0), (0.5, 5.0), (0.9, 1.0), (0.95, 0.5), (0.99, 0.0)]
    data = [{"text": "The letter.", "auth_weight": w, "prov_entropy": h} for w, h in scores]
    trainer = Trainer(settings_for(data))
    summary = trainer.weight_summary()
    assert summary["mode"] == "weighted" and summary["alpha"] == 2.7
    assert [summary[b]["count"] for b in ("low", "mid", "high")] == [2, 1, 3]
    raw = 2.7 * np.array([(np.log(1 - w + 1e-8) + h) ** 2 for w, h in scores])  # α·c² of each record
    assert summary["low"]["max"] == pytest.approx(raw[0] / raw.mean(), rel=1e-9)
    assert summary["high"]["min"] == pytest.approx(raw[3] / raw.mean(), rel=1e-9)
    assert summary["overall"]["mean"] == pytest.approx(float(np.mean(trainer.omega)))
    json.dumps(summary)  # JSON-safe for job events
    none = Trainer(settings_for([{"text": "No scores here."}], distrust=DistrustSpec(mode="none")))
    assert none.weight_summary()["overall"] == {"count": 1, "min": 1.0, "mean": 1.0, "max": 1.0}


def test_trainer_rejects_bad_inputs(settings_for: Settings, records: Callable[..., Any], tmp_path: Path) -> None:
    unscored = [
        {"text": "The letter."},
        {"text": "The diary.", "auth_weight": 0.2, "prov_entropy": 3.0},
        {"text": "The patent."},
    ]
    with pytest.raises(InvalidArgument) as err:
        Trainer(settings_for(unscored))
    assert err.value.param == "training_file" and "lines 1, 3" in err.value.message
    Trainer(settings_for(unscored, distrust=DistrustSpec(mode="none")))  # fine without scores
    with pytest.raises(InvalidArgument) as err:
        Trainer(settings_for(records(4), lora=LoraSpec(layers=5)))
    assert err.value.param == "lora.layers" and "the model has 2 blocks" in err.value.message
    with pytest.raises(InvalidArgument) as err:
        Trainer(
            settings_for(
                records(4),
                lora=LoraSpec(
                    keys=[
                        "self_attn.nope",
                    ]
                ),
            )
        )
    assert err.value.param == "lora.keys" and "self_attn.q_proj" in err.value.message
    with pytest.raises(InvalidArgument) as err:
        Trainer(settings_for(records(4), batch_size=0))
    assert err.value.param == "hyperparameters.batch_size"
    with pytest.raises(InvalidArgument) as err:
        Trainer(TrainSettings(model_path=tmp_path / "missing", train_path=tmp_path / "t.jsonl"))
    assert err.value.param == "model_path"
