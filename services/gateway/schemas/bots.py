"""The bot control API's bodies (`/api/ml/*`, the seed's names): status, should-train, train, initialize."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.gateway.bots.conversations import MAX_ERRORS_REPORTED, LineError
from services.gateway.bots.profiles import BotProfile, TrainingPolicy
from services.gateway.schemas.common import Identifier
from services.gateway.schemas.fine_tuning import FineTuningJob
from services.gateway.schemas.models import InferenceState
from shared.schemas.request import RequestModel


class AddData(RequestModel):
    """Append one of your files (purpose fine-tune, scored records) to the profile's data stream."""

    file_id: Identifier


class ImportConversations(RequestModel):
    """A chat export you uploaded (purpose raw or assistants, one JSON message per line) to import."""

    file_id: Identifier


class ConversationImport(BaseModel):
    """What an import did: lines read and dropped, bad lines with their numbers, conversations, the new file."""

    profile: str
    source_file: str
    file_id: str | None = Field(
        description="The versioned training file appended to the data stream (None: nothing new)"
    )
    version: int | None = None
    lines: int
    messages: int
    dropped_bot: int
    dropped_command: int
    dropped_empty: int
    errors: list[LineError] = Field(description=f"The first {MAX_ERRORS_REPORTED} unreadable lines")
    errors_total: int
    conversations: int
    duplicates: int
    records: int


class TrainRequest(RequestModel):
    """The seed's train body: `epochs` overrides the profile's; `force` trains even when not due.

    With `force`, a job of the profile that is still running is cancelled first.
    """

    epochs: int | None = Field(default=None, ge=1, le=100)
    force: bool = False


class JobSummary(BaseModel):
    """A profile's job as the bot sees it, with its latest losses."""

    id: str
    status: str
    step: int
    total_steps: int
    fine_tuned_model: str | None = None
    created_at: int
    finished_at: int | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    error: str | None = None

    @classmethod
    def of(cls, job: FineTuningJob, metrics: dict[str, float] | None = None) -> JobSummary:
        return cls(
            id=job.id,
            status=job.status,
            step=job.step,
            total_steps=job.total_steps,
            fine_tuned_model=job.fine_tuned_model,
            created_at=job.created_at,
            finished_at=job.finished_at,
            train_loss=(metrics or {}).get("train_loss"),
            val_loss=(metrics or {}).get("val_loss"),
            error=job.error.message if job.error else None,
        )


class ShouldTrain(BaseModel):
    """Whether to train now, why, and the counts the policy looked at."""

    profile: str
    should_train: bool
    reasons: list[str]
    new_examples: int
    new_files: int
    policy: TrainingPolicy


class AliasView(BaseModel):
    """The profile's alias and the model it points at now."""

    id: str
    model: str


class MlStatus(BaseModel):
    """The bot's ML state: the model to call, its alias, jobs, new data, and whether the service is ready."""

    profile: str
    ready: bool = Field(description="The inference service answers and serves the profile's model")
    model: str = Field(description="What to pass as `model`: the alias once it exists, else the base model")
    base_model: str
    alias: AliasView | None = None
    running_job: JobSummary | None = None
    last_job: JobSummary | None = Field(default=None, description="The latest job that ended")
    new_examples: int
    should_train: bool
    reasons: list[str]
    detail: str | None = Field(default=None, description="Why the service is not ready")
    loaded: bool = Field(default=False, description="The model behind the alias is in memory now (first reply fast)")
    inference: InferenceState | None = Field(default=None, description="The base loaded, your cached adapters, queue")


class TrainStarted(BaseModel):
    """The job `train` started, the data it trains on, and what the policy said."""

    profile: str
    job: FineTuningJob
    training_file: str
    examples: int
    forced: bool
    cancelled_job: str | None = None
    reasons: list[str]


class Initialized(BaseModel):
    """What `initialize` loaded and pinned, and how long it took."""

    profile: str
    model: str
    target: str = Field(description="The model the alias points at (or the base model)")
    loaded: bool
    pinned: bool
    seconds: float


class ProfileList(BaseModel):
    """The caller's bot profiles."""

    object: str = "list"
    data: list[BotProfile]
