"""Evaluations: the same tasks on several models, side by side (perplexity by band, source preference, suites)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.gateway import charts
from services.gateway.auth import current_owner
from services.gateway.job_events import events_response
from shared.errors import FailedPrecondition, NotFound
from shared.eval_tasks import MAX_TASK_LIMIT

router = APIRouter(prefix="/v1/evals", tags=["evals"])
Owner = Annotated[str, Depends(current_owner)]
Method = Literal["letter", "option"]


class PerplexityTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["perplexity"]
    name: str | None = None
    file: str = Field(description='A "fine-tune" file whose records carry auth_weight (a validation set)')
    max_seq_length: int | None = Field(default=None, ge=8, le=65536)
    limit: int | None = Field(default=None, ge=1, le=MAX_TASK_LIMIT)


class SourcePreferenceTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["source_preference"]
    name: str | None = None
    file: str | None = Field(default=None, description='An "evals" file of items; default: the built-in set')
    method: Method | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_TASK_LIMIT)


class SuiteTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["suite"]
    name: str | None = None
    suite: str | None = Field(default=None, description='A built-in suite: "censorship" or "authority"')
    file: str | None = Field(default=None, description='An "evals" file holding a suite')
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    limit: int | None = Field(default=None, ge=1, le=MAX_TASK_LIMIT)


class TruthfulQATask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["truthfulqa"]
    name: str | None = None
    file: str | None = Field(default=None, description='An "evals" file in TruthfulQA MC format; default: sample')
    method: Method | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_TASK_LIMIT)


Task = Annotated[PerplexityTask | SourcePreferenceTask | SuiteTask | TruthfulQATask, Field(discriminator="type")]


class CreateEval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[str] = Field(min_length=1, max_length=8, description="Base models and fine-tuned models")
    tasks: list[Task] = Field(min_length=1, max_length=16)
    include_base: bool = Field(default=True, description="Add each adapter's base model, for a side-by-side view")
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    name: str | None = Field(default=None, max_length=200)
    metadata: dict[str, str] | None = None


def _evals(request: Request) -> Any:
    return request.app.state.backends.evals


@router.post("", summary="Create an evaluation (queued; runs on a trainer worker)")
async def create_eval(body: CreateEval, request: Request, owner: Owner) -> dict[str, Any]:
    payload = body.model_dump(exclude={"metadata"})
    payload["tasks"] = [t.model_dump(exclude_none=True) for t in body.tasks]
    return await run_in_threadpool(_evals(request).create, owner, payload)


@router.get("", summary="List evaluations, newest first")
def list_evals(
    request: Request, owner: Owner, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    return _evals(request).list(owner, after=after, limit=limit)


@router.get("/{eval_id}", summary="Retrieve an evaluation, with its side-by-side summary once finished")
def get_eval(eval_id: str, request: Request, owner: Owner) -> dict[str, Any]:
    return _evals(request).get(owner, eval_id)


@router.post("/{eval_id}/cancel", summary="Cancel an evaluation")
def cancel_eval(eval_id: str, request: Request, owner: Owner) -> dict[str, Any]:
    return _evals(request).cancel(owner, eval_id)


@router.get("/{eval_id}/results", summary="The full report: every task on every model, per-item results")
def eval_results(eval_id: str, request: Request, owner: Owner) -> dict[str, Any]:
    return _evals(request).results(owner, eval_id)


@router.get(
    "/{eval_id}/events",
    summary="Progress events; `stream=true` follows them as server-sent events",
    response_model=None,
)
def eval_events(
    eval_id: str,
    request: Request,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    stream: bool = False,
) -> dict[str, Any] | StreamingResponse:
    return events_response(_evals(request).events, owner, eval_id, after=after, limit=limit, stream=stream)


@router.get(
    "/{eval_id}/charts/{chart}.png",
    summary="A chart of the results: `perplexity` or `accuracy`",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def eval_chart(eval_id: str, chart: str, request: Request, owner: Owner, task: str | None = None) -> Response:
    results = _evals(request).results(owner, eval_id)
    png = render_eval_chart(results, chart, task)
    return Response(png, media_type="image/png", headers={"cache-control": "no-cache"})


def render_eval_chart(results: dict[str, Any], chart: str, task: str | None) -> bytes:
    """The `chart` of one task's reports, the first task that has that metric when `task` is not given."""
    wanted = {"perplexity": "bands", "accuracy": "accuracy"}
    if chart not in wanted:
        raise NotFound(f"chart: no chart named {chart!r} (perplexity, accuracy)", param="chart")
    by_model: dict[str, dict[str, Any]] = results.get("models", {})
    names = [n for reports in by_model.values() for n, r in reports.items() if wanted[chart] in r]
    name = task or (names[0] if names else None)
    if name is None or name not in names:
        raise FailedPrecondition(
            f"task: this evaluation has no {chart} results" + (f" for task {task!r}" if task else ""),
            param="task",
            code="no_results",
        )
    reports = {model: reports[name] for model, reports in by_model.items() if name in reports}
    if chart == "perplexity":
        return charts.perplexity_chart(reports)
    return charts.accuracy_chart(
        {
            model: {"accuracy": r["accuracy"], "interval": [r.get("ci_low"), r.get("ci_high")], "n": r.get("n")}
            for model, r in reports.items()
        }
    )
