"""`distrust recommend`: training settings that fit a worker's machine (asked of the gateway) or this one (--local)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.client import GatewayClient
from cli.commands.blas import blas_line
from services.gateway.schemas.common import ListResponse
from services.trainer.models.inspect import ModelInfo, inspect_model
from shared.errors import DistrustError, FailedPrecondition
from shared.model_registry import ModelRegistry
from shared.redis_store import connect
from shared.schemas.fine_tuning import Hyperparameters
from shared.schemas.hardware import GB, Hardware, HardwareRecommendation, Recommendation, WorkerHardware
from shared.storage import ObjectStore

SETTINGS = ("batch_size", "lora_rank", "lora_layers", "grad_accumulation", "dtype", "seq_len")


def remote(
    client: GatewayClient,
    model: str,
    *,
    seq_len: int,
    options: Hyperparameters,
    worker: str | None,
) -> HardwareRecommendation:
    """Settings the gateway recommends for `model` on a trainer worker's machine (the smallest budget, or `worker`).

    `options` carries the precision and QLoRA bits (see `memory_options`), sent as the route's query parameters.
    """
    params: dict[str, str | int] = {"model": model, "seq_len": seq_len}
    params.update(options.model_dump(include={"precision", "quantize_base"}, exclude_none=True))
    if worker:
        params["worker"] = worker
    return client.fetch(HardwareRecommendation, "GET", "/v1/hardware/recommendation", params=params)


def _registered_info(model: str) -> ModelInfo:
    from cli.commands.models import backends

    storage, redis_settings = backends()
    client = connect(redis_settings)
    try:
        record = ModelRegistry(client, ObjectStore(storage)).require_base(model)
    finally:
        client.close()
    if not record.info:
        raise FailedPrecondition(f"model {model!r} was registered without its details; register it again")
    return ModelInfo.from_dict(record.info)


def local(model: str, *, seq_len: int, options: Hyperparameters) -> tuple[Recommendation, Hardware]:
    """Settings for `model` (a local folder, or a registered model read from the registry) on this machine."""
    from services.trainer.system.hardware import detect_hardware
    from services.trainer.system.recommend import recommend

    info = inspect_model(Path(model)) if Path(model).is_dir() else _registered_info(model)
    hardware = detect_hardware()
    recommendation = recommend(
        info, hardware, seq_len=seq_len, precision=options.precision, quantize_base=options.quantize_base
    )
    return recommendation, hardware


def print_worker(console: Console, worker: WorkerHardware) -> None:
    """Which worker's machine the settings are for, and its BLAS (a red warning on the slow reference one)."""
    console.print(escape(worker.describe()), soft_wrap=True)
    console.print(blas_line(worker.blas_kind, worker.blas), soft_wrap=True)


def print_recommendation(console: Console, recommendation: Recommendation, model: str) -> None:
    """The settings as a table, the estimate against the budget, why, and what to do next."""
    table = Table("setting", "value")
    for key in SETTINGS:
        table.add_row(key, str(getattr(recommendation, key)))
    bits = recommendation.estimate.quantize_bits
    table.add_row("quantize_base", f"{bits} (QLoRA)" if bits else "-")
    estimate, budget = recommendation.estimate.total_bytes / GB, recommendation.budget_bytes / GB
    table.add_row("memory estimate", f"{estimate:.2f} GB of {budget:.2f} GB")
    console.print(table)
    console.print(escape(recommendation.reason))
    console.print(
        f"next: chat with it: distrust chat {model}; bring your own: distrust models import ./model.gguf "
        "(or ollama:NAME); fine-tune: distrust train -t train.jsonl -v val.jsonl --model NAME"
    )


def worker_blas_lines(client: GatewayClient) -> list[str]:
    """`distrust status`'s lines naming each trainer worker's BLAS; empty when the gateway cannot say."""
    try:
        workers = client.fetch(ListResponse[WorkerHardware], "GET", "/v1/hardware")
    except DistrustError:
        return []
    return [f"{w.role} {escape(w.id)}: {blas_line(w.blas_kind, w.blas)}" for w in workers.data]
