"""The memory check a job passes before it starts: a realistic estimate against the worker's budget."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from services.trainer.core.precision import resolve_precision
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.records import JobRecord
from services.trainer.models.inspect import ModelInfo, inspect_model
from services.trainer.system.hardware import detect_hardware
from services.trainer.system.memory import (
    MemoryEstimate,
    Savings,
    apply_memory_limits,
    check_fits,
    estimate_training_memory,
    memory_budget,
)
from shared.schemas.fine_tuning import ADAPTER_DTYPE, DTYPE_BYTES

logger = logging.getLogger(__name__)


def budget_bytes(budget_gb: float) -> int:
    """The memory budget in bytes: `budget_gb` when set, else the share of this machine's memory that jobs may use."""
    return int(budget_gb * 1e9) if budget_gb > 0 else memory_budget(detect_hardware())


def _estimate(job: JobRecord, info: ModelInfo) -> MemoryEstimate:
    hp = job.hyperparameters.resolved()
    dtype = resolve_precision(hp.precision)
    return estimate_training_memory(
        info,
        lora_rank=job.lora.rank,
        lora_layers=job.lora.layers,
        lora_keys=job.lora.keys,
        batch_size=hp.batch_size * (2 if job.method == "dpo" else 1),  # a pair is two rows
        seq_len=hp.max_seq_length,
        dtype_bytes=DTYPE_BYTES[dtype],
        savings=Savings(
            quantize_bits=hp.quantize_base,
            checkpointing=hp.gradient_checkpointing,
            adapter_dtype_bytes=DTYPE_BYTES[ADAPTER_DTYPE[dtype]],
        ),
    )


def request_memory_check(sources: ModelSources, budget: Callable[[], int]) -> Callable[[JobRecord], int | None]:
    """The check run at creation: refuse a job that no worker can hold (`budget()`: the largest budget).

    It returns the estimate (the job's placement), from the model's recorded info or its local folder; None for
    Hub models, which the worker checks once downloaded.
    """

    def check(job: JobRecord) -> int | None:
        source = sources.classify(sources.base_of(job.model, job.owner), job.owner)
        info = None
        if source.kind == "registered":
            record = sources.registry.require_base(source.name, owner=job.owner)
            info = ModelInfo.from_dict(record.info) if record.info else None
        elif source.kind == "local":
            info = inspect_model(Path(job.model))
        if info is None:
            return None
        estimate = _estimate(job, info)
        check_fits(estimate, budget())
        return estimate.total_bytes

    return check


def job_memory_check(budget_gb: float) -> Callable[[JobRecord, Path], int]:
    """The check run on the worker, from the model files, before a job starts.

    It refuses (ResourceExhausted, with estimate and budget) a job that cannot fit; else it caps MLX's memory
    at the budget and returns it, for the run's own guard.
    """

    def check(job: JobRecord, model_dir: Path) -> int:
        estimate = _estimate(job, inspect_model(model_dir))
        budget = budget_bytes(budget_gb)
        check_fits(estimate, budget)
        apply_memory_limits(budget)
        logger.info("memory check passed", extra={"estimate": estimate.to_dict(), "budget_bytes": budget})
        return budget

    return check
