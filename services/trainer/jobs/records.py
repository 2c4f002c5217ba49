"""Job, event and checkpoint records, shaped like OpenAI's fine-tuning objects."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from shared.jobs.records import BaseJob, JobStatus, new_id
from shared.model_registry import SYSTEM
from shared.schemas.alias_gate import AliasGate
from shared.schemas.distributed import DistributedSpec
from shared.schemas.evaluation import EvalProgress, EvalSummary, EvalTask
from shared.schemas.export import ExportOptions, ExportResult
from shared.schemas.fine_tuning import (
    CheckpointMetrics,
    DistrustSpec,
    Hyperparameters,
    LoraSpec,
    PreferenceSpec,
    TrainingMethod,
)
from shared.schemas.model_import import ImportQuantization, ModelProvenance


def _time_seed() -> int:
    return int(time.time()) % 2**31


class JobRecord(BaseJob):
    """A fine-tuning job: OpenAI's fields, the typed specs it trains with, and its progress."""

    id: str = Field(default_factory=lambda: new_id("ftjob"))
    model: str
    training_file: str
    validation_file: str | None = None
    suffix: str | None = None
    seed: int = Field(default_factory=_time_seed)
    status: JobStatus = JobStatus.VALIDATING_FILES
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)  # as given: "auto" kept
    distrust: DistrustSpec = Field(default_factory=DistrustSpec)
    lora: LoraSpec = Field(default_factory=LoraSpec)
    method: TrainingMethod = "supervised"
    preference: PreferenceSpec = Field(default_factory=PreferenceSpec)  # used by DPO jobs
    alias: str | None = None  # moved to fine_tuned_model on success (the NAME of ft:alias:NAME)
    alias_gate: AliasGate | None = None  # ... only if the new model scores no worse than the alias's current one
    distributed: DistributedSpec | None = None  # trained by several workers at once (one rank each)
    attempt: int = 0  # how many times its group of ranks was started
    queue: str | None = None  # the Celery queue (memory tier) it is placed on; None: the plain one
    memory_estimate_bytes: int | None = None  # its estimated peak, when known at creation
    fine_tuned_model: str | None = None
    trained_tokens: int = 0
    result_files: list[str] = Field(default_factory=list)
    step: int = 0
    total_steps: int = 0


class CheckpointRecord(BaseModel):
    """A checkpoint a job wrote: its files in the object store and the metrics at its step."""

    id: str = Field(default_factory=lambda: new_id("ftckpt"))
    job_id: str
    step: int
    created_at: int = Field(default_factory=lambda: int(time.time()))
    metrics: CheckpointMetrics = Field(default_factory=CheckpointMetrics)
    storage_prefix: str
    files: dict[str, str] = Field(default_factory=dict)

    @property
    def fine_tuned_model_checkpoint(self) -> str:
        """The name the checkpoint's adapter is served under, as OpenAI spells it."""
        return f"{self.job_id}:ckpt-step-{self.step}"


class EvalRunProgress(EvalProgress):
    """An evaluation's progress and where its worker is: the model, the task and the item within it."""

    model: str | None = None
    task: str | None = None
    item: int = 0
    items: int = 0


class EvalRecord(BaseJob):
    """An evaluation: the same tasks run on several models; the full report lives in the object store."""

    id: str = Field(default_factory=lambda: new_id("eval"))
    name: str | None = None
    models: list[str]  # as asked, in order, with each adapter's base added when include_base was set
    tasks: list[EvalTask]  # validated, each with its name (file ids, not local paths)
    seed: int
    progress: EvalRunProgress = Field(default_factory=EvalRunProgress)
    summary: EvalSummary | None = None  # the side-by-side comparison, small enough for the record
    results_key: str | None = None  # object key of the full report in the results bucket


class ExportRecord(BaseJob):
    """Fuse an adapter into its base (optionally quantized, optionally GGUF); the result is a served base model."""

    id: str = Field(default_factory=lambda: new_id("export"))
    model: str  # the fine-tuned model (adapter) to export
    base_model: str
    output_model: str  # the name the exported model is registered under
    options: ExportOptions
    result: ExportResult | None = None


class ImportRecord(BaseJob):
    """Import an uploaded model file (GGUF, or a tar of a model folder) and register it as a base model."""

    id: str = Field(default_factory=lambda: new_id("import"))
    file: str  # the files API id of the upload
    name: str  # the name the model is registered under (reserved while the job runs)
    quantization: ImportQuantization = "keep"
    public: bool = False  # registered as "system" (everyone's) rather than the owner's
    provenance: ModelProvenance | None = None

    @property
    def registered_by(self) -> str:
        """Whose model the import becomes: "system" (shared) when public, else the owner's."""
        return SYSTEM if self.public else self.owner
