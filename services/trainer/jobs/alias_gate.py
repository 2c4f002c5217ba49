"""A job's alias gate: the new model and the alias's current model on the gate's task, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx

from services.trainer.evals import parse_tasks, run_tasks
from services.trainer.evals.comparison import headline
from services.trainer.jobs.eval_runner import load_model
from services.trainer.jobs.evaluations import resolve_model
from services.trainer.jobs.model_sources import ModelSources
from shared.model_registry import ModelRegistry
from shared.schemas.alias_gate import AliasGate


@dataclass(frozen=True)
class GateResult:
    """Both models' scores on the gate's metric and whether the new one may take the alias."""

    metric: str
    candidate_model: str
    incumbent_model: str
    candidate: float | None
    incumbent: float | None
    tolerance: float

    @property
    def passed(self) -> bool:
        if self.candidate is None:
            return False
        return self.incumbent is None or self.candidate >= self.incumbent - self.tolerance

    def describe(self, alias: str) -> str:
        verdict = "moves to" if self.passed else "stays at"
        target = self.candidate_model if self.passed else self.incumbent_model
        return (
            f"Alias gate {self.metric}: new {_shown(self.candidate)} vs current {_shown(self.incumbent)} "
            f"(tolerance {self.tolerance}); {alias} {verdict} {target}"
        )


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@dataclass(frozen=True)
class GateModels:
    """Where the gate finds models: the registry, the model sources and the worker's cache."""

    registry: ModelRegistry
    sources: ModelSources
    cache_dir: Path


def run_gate(
    models: GateModels, owner: str, gate: AliasGate, candidate: str, incumbent: str, *, seed: int
) -> GateResult:
    """Score both models on the gate's task (one at a time in memory)."""
    task_name, metric = gate.metric.split(".")
    tasks = parse_tasks([gate.task()], seed=seed)
    scores: list[float | None] = []
    for name in (candidate, incumbent):
        ref = resolve_model(models.registry, models.sources, owner, name, "alias_gate")
        model, tokenizer = load_model(models.registry, models.sources, models.cache_dir, ref, owner)
        report = run_tasks(model, tokenizer, tasks)[task_name]
        value = headline(report).get(metric)
        scores.append(float(value) if isinstance(value, int | float) else None)
        del model
        mx.clear_cache()
    return GateResult(gate.metric, candidate, incumbent, scores[0], scores[1], gate.tolerance)
