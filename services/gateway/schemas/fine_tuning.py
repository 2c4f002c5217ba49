"""Fine-tuning over HTTP: the create body and OpenAI's job, event and checkpoint objects, plus our extensions.

The response models are named and shaped like openai-python's `FineTuningJob`, `FineTuningJobEvent` and
`FineTuningJobCheckpoint`; `distrust`, `lora`, `preference`, `step` and `total_steps` are ours.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from services.gateway.schemas.common import Identifier
from shared.schemas.alias_gate import AliasGate
from shared.schemas.distributed import DistributedSpec
from shared.schemas.fine_tuning import (
    AUTO,
    Auto,
    Beta,
    CheckpointMetrics,
    DistrustSpec,
    Hyperparameters,
    LoraSpec,
    PreferenceSpec,
    ResolvedHyperparameters,
    TrainingMethod,
)
from shared.schemas.request import RequestModel

JobStatusName = Literal[
    "validating_files", "queued", "running", "succeeded", "failed", "cancelling", "cancelled", "paused"
]


class SupervisedMethod(RequestModel):
    """OpenAI's `method.supervised`."""

    hyperparameters: Hyperparameters | None = None


class DpoHyperparameters(Hyperparameters):
    """OpenAI's `method.dpo.hyperparameters`: the supervised ones plus `beta` (our `preference.beta`)."""

    beta: Beta | Auto = AUTO


class DpoMethod(RequestModel):
    """OpenAI's `method.dpo`."""

    hyperparameters: DpoHyperparameters | None = None


class Method(RequestModel):
    """OpenAI's `method`: supervised fine-tuning or DPO on preference pairs."""

    type: TrainingMethod
    supervised: SupervisedMethod | None = None
    dpo: DpoMethod | None = None

    @model_serializer(mode="wrap")
    def _only_its_type(self, handler: SerializerFunctionWrapHandler) -> Any:  # OpenAI's object has its type's key only
        return {key: value for key, value in handler(self).items() if value is not None}


class _JobFields(RequestModel):
    model: Identifier
    training_file: Identifier
    validation_file: Identifier | None = None
    suffix: str | None = None
    seed: int | None = Field(default=None, ge=0, le=2**64 - 1)
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    distrust: DistrustSpec = Field(default_factory=DistrustSpec)
    lora: LoraSpec = Field(default_factory=LoraSpec)
    alias: str | None = Field(
        default=None, description="Ours: an alias (NAME or ft:alias:NAME) moved to the fine-tuned model on success"
    )
    alias_gate: AliasGate | None = Field(
        default=None, description="Ours: move the alias only if the new model scores no worse than its current one"
    )
    distributed: DistributedSpec | None = Field(
        default=None, description="Ours: train on several workers at once, each taking its share of every batch"
    )


class JobCreate(_JobFields):
    """What the trainer needs to create a job (field names equal the contract's `CreateJobRequest`)."""

    method: TrainingMethod = "supervised"
    preference: PreferenceSpec = Field(default_factory=PreferenceSpec)


class CreateFineTuningJob(_JobFields):
    """OpenAI's create body: hyperparameters at the top level or in `method.<type>`, not both."""

    method: Method | None = None
    preference: PreferenceSpec | None = None  # ours: a DPO job's loss, beta, gamma and margin weighting
    integrations: list[Any] | None = None  # accepted by name only: a non-empty list is refused
    metadata: dict[str, str] | None = None  # accepted by name only: a non-empty object is refused


class FineTuningJobError(BaseModel):
    """Why a job failed."""

    code: str
    message: str
    param: str | None = None


class FineTuningJob(BaseModel):
    """OpenAI's `fine_tuning.job`, with hyperparameters resolved, plus `distrust`, `lora` and the progress."""

    id: str
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    model: str
    created_at: int
    finished_at: int | None = None
    fine_tuned_model: str | None = None
    organization_id: str
    result_files: list[str] = Field(default_factory=list)
    status: JobStatusName
    validation_file: str | None = None
    training_file: str
    hyperparameters: ResolvedHyperparameters
    trained_tokens: int | None = None
    seed: int
    suffix: str | None = None
    estimated_finish: int | None = None
    error: FineTuningJobError | None = None
    method: Method
    distrust: DistrustSpec
    lora: LoraSpec
    preference: PreferenceSpec | None = None  # DPO jobs', beta resolved
    alias: str | None = None  # the alias moved to fine_tuned_model on success
    alias_gate: AliasGate | None = None
    distributed: DistributedSpec | None = None
    attempt: int = Field(default=0, description="Ours: how many times its group of ranks was started")
    queue: str | None = Field(default=None, description="Ours: the memory tier's queue the job is placed on")
    memory_estimate_bytes: int | None = Field(default=None, description="Ours: the peak it was placed by")
    step: int = 0
    total_steps: int = 0


class FineTuningJobEvent(BaseModel):
    """OpenAI's `fine_tuning.job.event` (evaluations and exports use it with their own `object`)."""

    id: str
    object: str = "fine_tuning.job.event"
    created_at: int
    level: Literal["info", "warn", "error"]
    message: str
    type: str  # "message", "metrics", "status", "checkpoint" or "weights"
    sequence: int
    data: dict[str, Any] = Field(default_factory=dict)  # open data, by type
    status: JobStatusName | None = None
    request_id: str | None = Field(default=None, description="The x-request-id of the request that led to it")


class FineTuningJobCheckpoint(BaseModel):
    """OpenAI's `fine_tuning.job.checkpoint`."""

    id: str
    object: Literal["fine_tuning.job.checkpoint"] = "fine_tuning.job.checkpoint"
    created_at: int
    fine_tuning_job_id: str
    step_number: int
    fine_tuned_model_checkpoint: str
    metrics: CheckpointMetrics
