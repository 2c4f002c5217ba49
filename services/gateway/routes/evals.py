"""Evaluations: the same tasks on several models, side by side (perplexity by band, source preference, suites)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from services.gateway import charts
from services.gateway.deps import JOB_SLOT, EvalsDep, Owner, VectorStoresDep
from services.gateway.job_events import events_response
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.evaluation import CreateEval, Eval
from services.gateway.schemas.fine_tuning import FineTuningJobEvent
from services.retrieval.context import check_task_stores
from shared.errors import FailedPrecondition, NotFound

router = APIRouter(prefix="/v1/evals", tags=["evals"])


@router.post("", summary="Create an evaluation (queued; runs on a trainer worker)", dependencies=[JOB_SLOT])
async def create_eval(body: CreateEval, evals: EvalsDep, stores: VectorStoresDep, owner: Owner) -> Eval:
    """Check the models, tasks, files and vector stores, then queue the evaluation."""
    check_task_stores(stores, owner, body.tasks)
    return await evals.create(owner, body)


@router.get("", summary="List evaluations, newest first")
async def list_evals(
    evals: EvalsDep, owner: Owner, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> ListResponse[Eval]:
    """The owner's evaluations, newest first."""
    return await evals.list(owner, after=after, limit=limit)


@router.get("/{eval_id}", summary="Retrieve an evaluation, with its side-by-side summary once finished")
async def get_eval(eval_id: str, evals: EvalsDep, owner: Owner) -> Eval:
    """One evaluation of the owner."""
    return await evals.get(owner, eval_id)


@router.post("/{eval_id}/cancel", summary="Cancel an evaluation")
async def cancel_eval(eval_id: str, evals: EvalsDep, owner: Owner) -> Eval:
    """Ask a running evaluation to stop after its current task."""
    return await evals.cancel(owner, eval_id)


@router.get("/{eval_id}/results", summary="The full report: every task on every model, per-item results")
async def eval_results(eval_id: str, evals: EvalsDep, owner: Owner) -> dict[str, Any]:
    """The full report of a finished evaluation (open data: each task's report has its own keys)."""
    return await evals.results(owner, eval_id)


@router.get(
    "/{eval_id}/events",
    summary="Progress events; `stream=true` follows them as server-sent events",
    response_model=ListResponse[FineTuningJobEvent],
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def eval_events(
    eval_id: str,
    evals: EvalsDep,
    owner: Owner,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    stream: bool = False,
) -> ListResponse[FineTuningJobEvent] | StreamingResponse:
    """An evaluation's events, newest first; or followed as server-sent events."""
    return await events_response(evals.events, owner, eval_id, after=after, limit=limit, stream=stream)


@router.get(
    "/{eval_id}/charts/{chart}.png",
    summary="A chart of the results: `perplexity` or `accuracy`",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def eval_chart(eval_id: str, chart: str, evals: EvalsDep, owner: Owner, task: str | None = None) -> Response:
    """A PNG chart of one task's results on every model."""
    results = await evals.results(owner, eval_id)
    png = await run_in_threadpool(render_eval_chart, results, chart, task)
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
