"""Scoring and dataset preparation over HTTP; preparation jobs are run by scorer workers, the gateway forwards."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, computed_field

from services.gateway.deps import JOB_SLOT, Owner, ScorerDep
from shared.errors import invalid_field
from shared.schemas.preparation import MAX_INPUTS, PreparationInput, PreparationOptions, PreparationRecord, Profile
from shared.schemas.scoring import Breakdown

router = APIRouter(tags=["scoring"])
MAX_DOCUMENTS = 2048


class DocumentIn(BaseModel):
    """One document to score."""

    model_config = ConfigDict(extra="forbid")
    text: str
    metadata: dict[str, Any] | None = None  # open data: the scorer reads the fields it knows


class ScoreRequest(BaseModel):
    """Documents to score and the profile to score them with."""

    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn] = Field(min_length=1, max_length=MAX_DOCUMENTS)
    profile: Profile | None = None


class Score(BaseModel):
    """The score of one document, by its index in the request."""

    object: Literal["score"] = "score"
    index: int
    auth_weight: float
    prov_entropy: float
    scoring_method: str
    profile: str
    breakdown: Breakdown


class ScoreList(BaseModel):
    """The scores of a request's documents, in order."""

    object: Literal["list"] = "list"
    profile: Profile
    data: list[Score]


class PrepareRequest(BaseModel):
    """Raw files to prepare, the scoring profile and the options (see `PreparationOptions`)."""

    model_config = ConfigDict(extra="forbid")
    inputs: list[PreparationInput] = Field(min_length=1, max_length=MAX_INPUTS)
    profile: Profile | None = None
    options: PreparationOptions = PreparationOptions()

    def resolved_options(self) -> PreparationOptions:
        """The options with the request's `profile` in them; a different `options.profile` is an error."""
        if self.profile is None:
            return self.options
        if "profile" in self.options.model_fields_set and self.options.profile != self.profile:
            raise invalid_field("options.profile", self.options.profile, f"absent or equal to profile={self.profile!r}")
        return self.options.model_copy(update={"profile": self.profile})


class DatasetPreparation(PreparationRecord):
    """A preparation job as the owner sees it."""

    owner: str = Field(exclude=True)
    object: Literal["dataset.preparation"] = "dataset.preparation"

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented use on a property
    @property
    def profile(self) -> Profile:
        """The scoring profile of the run."""
        return self.options.profile


def _public(job: PreparationRecord) -> DatasetPreparation:
    return DatasetPreparation.model_validate(job.model_dump())


@router.post(
    "/v1/score",
    summary="Score 1..2048 documents for authority weight and provenance entropy",
    response_model=ScoreList,
)
async def score(body: ScoreRequest, scorer: ScorerDep, _owner: Owner) -> ScoreList:
    """Score the documents, in order."""
    documents = [(d.text, d.metadata) for d in body.documents]
    results = await run_in_threadpool(scorer.score, documents, body.profile)
    return ScoreList(
        profile=body.profile or "strict",
        data=[
            Score(
                index=i,
                auth_weight=r.auth_weight,
                prov_entropy=r.prov_entropy,
                scoring_method=r.scoring_method,
                profile=r.profile,
                breakdown=r.breakdown,
            )
            for i, r in enumerate(results)
        ],
    )


@router.post(
    "/v1/datasets/prepare",
    dependencies=[JOB_SLOT],
    summary="Prepare train / validation files from raw files (a job)",
    response_model=DatasetPreparation,
)
def prepare(body: PrepareRequest, scorer: ScorerDep, owner: Owner) -> DatasetPreparation:
    """Start a preparation job; poll it with `GET /v1/datasets/jobs/{id}`."""
    return _public(scorer.create_preparation(owner, body.inputs, body.resolved_options()))


@router.get(
    "/v1/datasets/jobs/{job_id}",
    summary="A preparation job: status, progress, report, output files",
    response_model=DatasetPreparation,
)
def get_job(job_id: str, scorer: ScorerDep, owner: Owner) -> DatasetPreparation:
    """The owner's preparation job."""
    return _public(scorer.get_preparation(owner, job_id))


@router.post(
    "/v1/datasets/jobs/{job_id}/cancel",
    summary="Cancel a preparation job",
    response_model=DatasetPreparation,
)
def cancel_job(job_id: str, scorer: ScorerDep, owner: Owner) -> DatasetPreparation:
    """Ask the owner's unfinished preparation job to stop."""
    return _public(scorer.cancel_preparation(owner, job_id))
