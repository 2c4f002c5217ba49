"""OpenAI-compatible generation: chat completions, completions (streaming or not), and the model list."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from services.gateway import replies
from services.gateway.auth import admit
from services.gateway.deps import InferenceDep, Owner, PrincipalDep, VectorStoresDep
from services.gateway.inference_client import (
    Echo,
    Final,
    Generations,
    Inference,
    Item,
    Logprob,
    usage_of,
)
from services.gateway.keys import Principal
from services.gateway.limits import RateLimiter
from services.gateway.logprobs import chat_logprobs, completion_logprobs
from services.gateway.retrieval import grounded
from services.gateway.schemas.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatFinishReason,
    ChoiceDelta,
    ChunkChoice,
)
from services.gateway.schemas.common import ErrorDetail, ErrorResponse, ListResponse
from services.gateway.schemas.completions import Completion, CompletionChoice, CompletionRequest, CompletionUsage
from services.gateway.schemas.models import Model
from services.gateway.schemas.tools import ChoiceDeltaToolCall
from shared.errors import DistrustError

router = APIRouter(prefix="/v1", tags=["inference"])
DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"cache-control": "no-cache"}
Render = Callable[[Item], Iterable[BaseModel]]
Release = Callable[[], None]


def _streamed(body: type[BaseModel]) -> dict[int | str, dict[str, object]]:
    """OpenAPI for a route that answers JSON, or server-sent `body` chunks when the request says `stream: true`."""
    events = {"schema": {"type": "string", "description": f"`data: <{body.__name__} JSON>` events, then `[DONE]`"}}
    return {200: {"content": {"text/event-stream": events}}}


def _sse(event: BaseModel) -> bytes:
    # json.dumps, not model_dump_json, so that the bytes on the wire stay as they were.
    return f"data: {json.dumps(event.model_dump(mode='json'))}\n\n".encode()


async def _events(
    generation: Generations, opening: Iterable[BaseModel], render: Render, release: Release
) -> AsyncIterator[bytes]:
    """The one SSE loop: each item's chunks, an error event if the service fails mid-stream, then `[DONE]`."""
    try:
        for chunk in opening:
            yield _sse(chunk)
        async for item in generation.items():
            for chunk in render(item):
                yield _sse(chunk)
    except DistrustError as exc:
        yield _sse(ErrorResponse(error=ErrorDetail.model_validate(exc.to_dict())))
    finally:
        # Also when the client leaves before the first delta: the service stops generating for nobody.
        generation.cancel()
        release()
    yield DONE


def _stream(
    generation: Generations, opening: Iterable[BaseModel], render: Render, release: Release
) -> StreamingResponse:
    events = _events(generation, opening, render, release)
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


async def _generate(
    request: Request, principal: Principal, inference: Inference, body: ChatCompletionRequest | CompletionRequest
) -> tuple[Generations, Release]:
    """Charge the request's tokens, take a stream slot when it streams, then start the generation."""
    await run_in_threadpool(admit, request, principal, tokens=body.estimated_tokens())
    release: Release = _nothing
    if body.stream:
        limiter: RateLimiter = request.app.state.limiter
        release = await run_in_threadpool(limiter.open_stream, principal.key_id, principal.limits)
    try:
        return await inference.generate(principal.owner, body, request_id=_request_id(request)), release
    except BaseException:
        release()
        raise


def _nothing() -> None:
    return None


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


@router.post(
    "/chat/completions",
    summary="Chat completion (OpenAI-compatible), `stream: true` for SSE chunks",
    response_model=ChatCompletion,
    responses=_streamed(ChatCompletionChunk),
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    principal: PrincipalDep,
    inference: InferenceDep,
    stores: VectorStoresDep,
) -> ChatCompletion | StreamingResponse:
    """Generate the assistant's reply to the messages (after searching vector stores, with `retrieval`)."""
    body, citations = await grounded(stores, inference, principal.owner, body)
    generation, release = await _generate(request, principal, inference, body)
    if not body.stream:
        reply = replies.chat_completion_of(body, await generation.collect())
        reply.citations = citations
        return reply
    ident, created = replies.new_chat_id()

    def chunk(choices: list[ChunkChoice], usage: CompletionUsage | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(id=ident, created=created, model=body.model, choices=choices, usage=usage)

    finals: list[Final] = []

    held: dict[int, list[str]] = {}  # with tools, a choice's text waits until it is known to be a call or not

    def render(item: Item) -> list[ChatCompletionChunk]:
        if isinstance(item, Echo):
            return []
        if not isinstance(item, Final):
            if body.calls_tools:
                held.setdefault(item.index, []).append(item.text)
                return []
            logprobs = chat_logprobs(item.logprobs) if body.logprobs else None
            return [chunk([ChunkChoice(index=item.index, delta=ChoiceDelta(content=item.text), logprobs=logprobs)])]
        finals.append(item)
        last = []
        finish: ChatFinishReason = item.finish_reason
        if body.calls_tools:
            choice = replies.chat_choice(body, "".join(held.pop(item.index, [])), item)
            calls = choice.message.tool_calls or []
            deltas = [ChoiceDeltaToolCall(index=k, id=c.id, function=c.function) for k, c in enumerate(calls)]
            delta = ChoiceDelta(tool_calls=deltas) if deltas else ChoiceDelta(content=choice.message.content)
            last.append(chunk([ChunkChoice(index=item.index, delta=delta)]))
            finish = choice.finish_reason
        last.append(chunk([ChunkChoice(index=item.index, delta=ChoiceDelta(), finish_reason=finish)]))
        if body.include_usage and len(finals) == body.n:
            last.append(chunk([], usage_of(finals)))
        if len(finals) == body.n:
            last[-1].citations = citations
        return last

    opening = [chunk([ChunkChoice(index=i, delta=ChoiceDelta(role="assistant", content=""))]) for i in range(body.n)]
    return _stream(generation, opening, render, release)


@router.post(
    "/completions",
    summary="Text completion (OpenAI-compatible)",
    response_model=Completion,
    responses=_streamed(Completion),
)
async def completions(
    body: CompletionRequest, request: Request, principal: PrincipalDep, inference: InferenceDep
) -> Completion | StreamingResponse:
    """Continue the prompt."""
    generation, release = await _generate(request, principal, inference, body)
    if not body.stream:
        return replies.completion_of(body, await generation.collect())
    ident, created = replies.new_completion_id()

    def completion(choice: CompletionChoice) -> Completion:
        return Completion(id=ident, created=created, model=body.model, choices=[choice])

    offsets: dict[int, int] = {}  # per choice: characters sent so far, for text_offset

    def piece(index: int, text: str, tokens: Sequence[Logprob]) -> Completion:
        logprobs = None
        if body.logprobs is not None:
            logprobs = completion_logprobs(tokens, offsets.get(index, 0))
        offsets[index] = offsets.get(index, 0) + len(text)
        return completion(CompletionChoice(index=index, text=text, logprobs=logprobs, finish_reason=None))

    def render(item: Item) -> list[Completion]:
        if isinstance(item, Echo):
            text = replies.echoed(body, item.first // item.n, item.tokens)
            return [piece(i, text, item.tokens) for i in range(item.first, item.first + item.n)]
        if isinstance(item, Final):
            return [completion(CompletionChoice(index=item.index, text="", finish_reason=item.finish_reason))]
        return [piece(item.index, item.text, item.logprobs)]

    return _stream(generation, [], render, release)


@router.get("/models", summary="Base models and your fine-tuned models")
async def list_models(owner: Owner, inference: InferenceDep) -> ListResponse[Model]:
    """Every model you can pass as `model`."""
    return ListResponse[Model](data=await inference.models(owner))
