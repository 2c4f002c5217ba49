"""Precision, QLoRA and gradient checkpointing on the tiny model: what the weights are held in, and that it trains."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx_lm
import pytest
from mlx.nn.layers.quantized import QuantizedLinear
from mlx.utils import tree_flatten
from mlx_lm.utils import quantize_model, save_config, save_model

from services.trainer.core.config import TrainSettings
from services.trainer.core.precision import resolve_precision
from services.trainer.core.trainer import Trainer
from shared.errors import InvalidArgument
from shared.schemas.fine_tuning import Hyperparameters, ResolvedHyperparameters

Settings = Callable[..., TrainSettings]


def _dtypes(trainer: Trainer, *, trainable: bool) -> set[mx.Dtype]:
    """The floating dtypes of the adapters (trainable) or of the base (the rest)."""
    adapters = dict(tree_flatten(trainer.model.trainable_parameters()))  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
    every = dict(tree_flatten(trainer.model.parameters()))  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
    chosen = adapters if trainable else {k: v for k, v in every.items() if k not in adapters}
    return {v.dtype for v in chosen.values() if mx.issubdtype(v.dtype, mx.floating)}


def _losses(trainer: Trainer) -> list[float]:
    return [r.train_loss for r in trainer.run()]


def test_auto_is_float32_on_cpu_and_stays_auto_once_resolved() -> None:
    assert mx.default_device() == mx.cpu and resolve_precision("auto") == "float32"
    assert ResolvedHyperparameters().precision == "auto"
    assert Hyperparameters(precision="bfloat16").resolved().precision == "bfloat16"


def test_default_trains_in_float32(settings_for: Settings, records: Callable[..., Any]) -> None:
    trainer = Trainer(settings_for(records(4), max_steps=1))
    assert _dtypes(trainer, trainable=False) == {mx.float32}


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_half_precision_holds_the_base_in_that_dtype(
    precision: str, settings_for: Settings, records: Callable[..., Any]
) -> None:
    trainer = Trainer(settings_for(records(4), max_steps=2, precision=precision))
    dtype = getattr(mx, precision)
    assert _dtypes(trainer, trainable=False) == {dtype}
    # float16 adapters stay float32: Adam's epsilon underflows float16
    assert _dtypes(trainer, trainable=True) == {mx.float32 if dtype == mx.float16 else dtype}
    assert all(math.isfinite(loss) for loss in _losses(trainer))


@pytest.mark.parametrize("bits", [4, 8])
def test_qlora_quantizes_the_base_and_trains_float_adapters(
    bits: int, settings_for: Settings, records: Callable[..., Any]
) -> None:
    trainer = Trainer(settings_for(records(8), max_steps=3, quantize_base=bits, learning_rate=1e-2))
    modules = trainer.model.named_modules()  # type: ignore[no-untyped-call]  # mlx's Module is partly annotated
    quantized = [m for _, m in modules if isinstance(m, QuantizedLinear)]
    assert quantized and {m.bits for m in quantized} == {bits}
    assert _dtypes(trainer, trainable=True) == {mx.float32}
    losses = _losses(trainer)
    assert all(math.isfinite(loss) for loss in losses)


def _quantized_copy(base: Path, target: Path) -> Path:
    """An MLX-quantized (4-bit) folder of `base`, as `mlx_lm.convert -q` writes one."""
    model, tokenizer, config = mlx_lm.load(str(base), return_config=True)  # type: ignore[misc]  # a 3-tuple with return_config
    model, config = quantize_model(model, config, group_size=64, bits=4)
    save_model(target, model)
    save_config(config, target / "config.json")
    tokenizer.save_pretrained(str(target))
    return target


def test_a_quantized_base_trains_as_stored_and_other_bits_are_refused(
    settings_for: Settings, records: Callable[..., Any], tmp_path: Path
) -> None:
    ok = settings_for(records(4), max_steps=1, quantize_base=4)
    quantized = _quantized_copy(ok.model_path, tmp_path / "q4")
    trainer = Trainer(dataclasses.replace(ok, model_path=quantized))
    assert all(math.isfinite(loss) for loss in _losses(trainer))
    bad = settings_for(records(4), max_steps=1, quantize_base=8)
    with pytest.raises(InvalidArgument, match=r"hyperparameters\.quantize_base.*already quantized to 4 bits"):
        Trainer(dataclasses.replace(bad, model_path=quantized))


def test_gradient_checkpointing_gives_the_same_losses(settings_for: Settings, records: Callable[..., Any]) -> None:
    data = records(8, seed=1)
    plain = _losses(Trainer(settings_for(data, max_steps=3)))
    checkpointed = Trainer(settings_for(data, max_steps=3, gradient_checkpointing=True))
    assert type(checkpointed.model.layers[-1]).__name__.startswith("Checkpointed")
    assert checkpointed.model.layers[-1].__class__ is not type(
        Trainer(settings_for(data, max_steps=1)).model.layers[-1]
    )
    assert _losses(checkpointed) == pytest.approx(plain, rel=1e-4)


def test_a_bad_precision_names_the_field() -> None:
    with pytest.raises(Exception, match="precision"):
        Hyperparameters.model_validate({"precision": "int8"})


def test_a_checkpoint_records_the_resolved_precision_not_gradient_checkpointing(
    settings_for: Settings, records: Callable[..., Any]
) -> None:
    plain = settings_for(records(4)).continuation_fingerprint()
    assert plain["precision"] == "float32"  # "auto" on this CPU
    checkpointed = settings_for(records(4), gradient_checkpointing=True).continuation_fingerprint()
    assert checkpointed == plain  # the same math: a run may resume with it switched
    assert settings_for(records(4), precision="bfloat16").continuation_fingerprint() != plain
