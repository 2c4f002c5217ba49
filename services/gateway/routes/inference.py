"""OpenAI-compatible generation: chat completions, completions (streaming or not), and the model list."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from services.gateway.auth import current_owner
from services.gateway.inference_client import Final, Generation
from shared.errors import DistrustError, InvalidArgument
from shared.model_registry import model_not_found

router = APIRouter(prefix="/v1", tags=["inference"])
Owner = Annotated[str, Depends(current_owner)]
_END = object()


class ContentPart(BaseModel):
    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class StreamOptions(BaseModel):
    include_usage: bool = False


class Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: bool | None = None
    tools: list[Any] | None = None

    def check(self) -> None:
        if self.n != 1:
            raise InvalidArgument(f"n: got {self.n}, only 1 is supported", param="n")
        if self.logprobs:
            raise InvalidArgument("logprobs: not supported", param="logprobs")
        if self.tools:
            raise InvalidArgument("tools: not supported", param="tools")

    def options(self) -> dict[str, Any]:
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return {
            "max_tokens": self.max_completion_tokens or self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": stop,
        }


class ChatRequest(Sampling):
    messages: list[Message]


class CompletionRequest(Sampling):
    prompt: str


def _start(request: Request, owner: str, body: Sampling, **inputs: Any) -> tuple[Generation, list[Any]]:
    """Start generating and wait for the first item, so that bad requests fail as HTTP errors, not mid-stream."""
    body.check()
    generation = request.app.state.backends.inference.generate(
        owner, model=body.model, request_id=getattr(request.state, "request_id", ""), **inputs, **body.options()
    )
    iterator = iter(generation)
    first = next(iterator, _END)
    return generation, [first, iterator]


def _collect(first: Any, rest: Iterator[Any]) -> tuple[str, Final]:
    parts, final = [], None
    for item in ([first] if first is not _END else []) + list(rest):
        if isinstance(item, Final):
            final = item
        else:
            parts.append(item)
    return "".join(parts), final or Final("stop", 0, 0)


def _usage(final: Final) -> dict[str, int]:
    return {
        "prompt_tokens": final.prompt_tokens,
        "completion_tokens": final.completion_tokens,
        "total_tokens": final.prompt_tokens + final.completion_tokens,
    }


async def _relay(generation: Generation, first: Any, rest: Iterator[Any]) -> AsyncIterator[Any]:
    """Items from the gRPC stream, without blocking the event loop; cancels generation if the client leaves."""
    try:
        if first is not _END:
            yield first
        while (item := await run_in_threadpool(next, rest, _END)) is not _END:
            yield item
    finally:
        generation.cancel()


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


@router.post(
    "/chat/completions",
    summary="Chat completion (OpenAI-compatible), `stream: true` for SSE chunks",
    response_model=None,
)
async def chat_completions(body: ChatRequest, request: Request, owner: Owner) -> dict[str, Any] | StreamingResponse:
    messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in body.messages]
    generation, (first, rest) = await run_in_threadpool(_start, request, owner, body, messages=messages)
    ident, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())
    base = {"id": ident, "created": created, "model": body.model, "system_fingerprint": None}
    if not body.stream:
        text, final = await run_in_threadpool(_collect, first, rest)
        return {
            **base,
            "object": "chat.completion",
            "usage": _usage(final),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": final.finish_reason,
                }
            ],
        }
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def chunks() -> AsyncIterator[bytes]:
        chunk = {**base, "object": "chat.completion.chunk"}
        yield _sse(
            {
                **chunk,
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}
                ],
            }
        )
        try:
            async for item in _relay(generation, first, rest):
                if isinstance(item, Final):
                    yield _sse(
                        {
                            **chunk,
                            "choices": [
                                {"index": 0, "delta": {}, "logprobs": None, "finish_reason": item.finish_reason}
                            ],
                        }
                    )
                    if include_usage:
                        yield _sse({**chunk, "choices": [], "usage": _usage(item)})
                else:
                    yield _sse(
                        {
                            **chunk,
                            "choices": [
                                {"index": 0, "delta": {"content": item}, "logprobs": None, "finish_reason": None}
                            ],
                        }
                    )
        except DistrustError as exc:
            yield _sse({"error": exc.to_dict()})
        yield b"data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream", headers={"cache-control": "no-cache"})


@router.post("/completions", summary="Text completion (OpenAI-compatible)", response_model=None)
async def completions(body: CompletionRequest, request: Request, owner: Owner) -> dict[str, Any] | StreamingResponse:
    generation, (first, rest) = await run_in_threadpool(_start, request, owner, body, prompt=body.prompt)
    base = {
        "id": "cmpl-" + secrets.token_hex(12),
        "created": int(time.time()),
        "model": body.model,
        "object": "text_completion",
    }
    if not body.stream:
        text, final = await run_in_threadpool(_collect, first, rest)
        return {
            **base,
            "usage": _usage(final),
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": final.finish_reason}],
        }

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for item in _relay(generation, first, rest):
                if isinstance(item, Final):
                    yield _sse(
                        {
                            **base,
                            "choices": [
                                {"index": 0, "text": "", "logprobs": None, "finish_reason": item.finish_reason}
                            ],
                        }
                    )
                else:
                    yield _sse(
                        {**base, "choices": [{"index": 0, "text": item, "logprobs": None, "finish_reason": None}]}
                    )
        except DistrustError as exc:
            yield _sse({"error": exc.to_dict()})
        yield b"data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream", headers={"cache-control": "no-cache"})


@router.get("/models", summary="Base models and your fine-tuned models")
def list_models(request: Request, owner: Owner) -> dict[str, Any]:
    return {"object": "list", "data": request.app.state.backends.inference.models(owner)}


@router.get("/models/{model:path}", summary="One model")
def get_model(model: str, request: Request, owner: Owner) -> dict[str, Any]:
    for entry in request.app.state.backends.inference.models(owner):
        if entry["id"] == model:
            return entry
    raise model_not_found(model)
