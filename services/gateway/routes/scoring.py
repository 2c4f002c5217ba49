"""Scoring and dataset preparation over HTTP; preparation jobs are run by scorer workers, the gateway forwards."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, computed_field

from services.gateway.deps import JOB_SLOT, BatchesDep, Owner, ScorerDep
from services.gateway.schemas.common import Identifier
from shared.errors import InvalidArgument, invalid_field
from shared.schemas.preference_pairs import PairOptions, PairRule, PairRules
from shared.schemas.preparation import (
    MAX_INPUTS,
    MAX_SEED,
    MAX_VAL_FRACTION,
    PreparationInput,
    PreparationOptions,
    PreparationRecord,
    Profile,
)
from shared.schemas.request import RequestModel
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


class PreferencePairsRequest(RequestModel):
    """Build DPO pairs from candidate answers: a file (or a batch's output) and the rule that picks each pair."""

    input_file_id: Identifier | None = None  # candidates (`prompt`/`messages` + `candidates`) or annotations
    batch_id: Identifier | None = None  # or a finished batch: its requests' prompts and each one's choices
    rule: PairRule
    min_margin: float = Field(default=0.0, ge=0.0, le=1e6)
    rules: PairRules | None = None
    profile: Profile = "strict"
    val_fraction: float = Field(default=0.1, ge=0.0, le=MAX_VAL_FRACTION)
    seed: int = Field(default=42, ge=0, le=MAX_SEED)


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


@router.post(
    "/v1/datasets/preference_pairs",
    dependencies=[JOB_SLOT],
    summary="Build preference (DPO) pairs from candidate answers by provenance, rules or annotations (a job)",
    response_model=DatasetPreparation,
)
def preference_pairs(
    body: PreferencePairsRequest, scorer: ScorerDep, batches: BatchesDep, owner: Owner
) -> DatasetPreparation:
    """Start a pair-building job; its train / validation files are DPO records. Poll `GET /v1/datasets/jobs/{id}`."""
    if (body.input_file_id is None) == (body.batch_id is None):
        raise InvalidArgument("input_file_id: give either input_file_id or batch_id", param="input_file_id")
    requests, source = None, body.input_file_id
    if body.batch_id is not None:
        source, requests = batches.answered_files(owner, body.batch_id)
    pairs = PairOptions(rule=body.rule, min_margin=body.min_margin, rules=body.rules, requests_file_id=requests)
    options = PreparationOptions(profile=body.profile, val_fraction=body.val_fraction, seed=body.seed)
    assert source is not None  # one of the two was given
    return _public(scorer.create_preparation(owner, [PreparationInput(file_id=source)], options, pairs))


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
