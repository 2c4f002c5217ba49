"""The gateway's client of the inference service, on `grpc.aio`: requests out, streamed deltas and typed errors in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc

from services.gateway import tools
from services.gateway.schemas.chat import ChatCompletionRequest, ChatMessage
from services.gateway.schemas.completions import (
    CompletionRequest,
    CompletionUsage,
    FinishReason,
    ResponseFormat,
    ResponseFormatJSONSchema,
)
from services.gateway.schemas.embeddings import EmbeddingRequest
from services.gateway.schemas.models import InferenceState, Model, ModelLoad
from services.gateway.schemas.tools import Tool
from shared.pb.distrust.inference.v1 import inference_pb2 as pb
from shared.pb.distrust.inference.v1 import inference_pb2_grpc
from shared.rpc.client import CHANNEL_OPTIONS, call_metadata
from shared.rpc.status import error_from_rpc
from shared.rpc.structs import to_struct

FINISH: dict[int, FinishReason] = {
    pb.FINISH_REASON_STOP: "stop",
    pb.FINISH_REASON_LENGTH: "length",
    pb.FINISH_REASON_CANCELLED: "stop",
    pb.FINISH_REASON_UNSPECIFIED: "stop",
}
LIST_TIMEOUT_S = 30
LOAD_TIMEOUT_S = 600  # a first load fetches the base model from the object store


@dataclass(frozen=True)
class Logprob:
    """A token with its log-probability (None for a prompt's first token) and the top alternatives."""

    token: int
    text: str
    logprob: float | None
    top: tuple[tuple[int, str, float], ...] = ()


@dataclass(frozen=True)
class Text:
    """A piece of choice `index`'s generated text, with its tokens' logprobs when they were asked for."""

    text: str
    index: int = 0
    logprobs: tuple[Logprob, ...] = ()


@dataclass(frozen=True)
class Echo:
    """The prompt's tokens and their logprobs (`echo`), for the choices `first` .. `first + n - 1`."""

    tokens: tuple[Logprob, ...]
    first: int
    n: int


@dataclass(frozen=True)
class Final:
    """The end of one choice: why it stopped and the token counts (the prompt's shared by every choice)."""

    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    index: int = 0
    prompt: int = 0  # which of the request's prompts (several only for completions)


Item = Text | Echo | Final


def usage_of(finals: list[Final]) -> CompletionUsage:
    """A request's usage: each prompt once, whatever its number of choices, and every choice's tokens."""
    prompts = {final.prompt: final.prompt_tokens for final in finals}
    return CompletionUsage.of(sum(prompts.values()), sum(final.completion_tokens for final in finals))


def _logprob(message: pb.TokenLogprob) -> Logprob:
    top = tuple((t.token, t.text, t.logprob) for t in message.top)
    return Logprob(message.token, message.text, message.logprob if message.HasField("logprob") else None, top)


@dataclass
class ChoiceResult:
    """One choice, whole: its text, its tokens' logprobs, the echoed prompt (if asked) and how it ended."""

    text: str
    final: Final
    logprobs: list[Logprob]
    echo: tuple[Logprob, ...] = ()


async def collect(items: AsyncIterator[Item]) -> list[ChoiceResult]:
    """Read a generation to its end: the choices by index."""
    results: dict[int, ChoiceResult] = {}
    echoes: dict[int, tuple[Logprob, ...]] = {}

    def result(index: int) -> ChoiceResult:
        return results.setdefault(index, ChoiceResult("", Final("stop", 0, 0, index), []))

    async for item in items:
        if isinstance(item, Echo):
            echoes.update(dict.fromkeys(range(item.first, item.first + item.n), item.tokens))
        elif isinstance(item, Final):
            result(item.index).final = item
        else:
            choice = result(item.index)
            choice.text += item.text
            choice.logprobs.extend(item.logprobs)
    for index, tokens in echoes.items():
        result(index).echo = tokens
    return [results[i] for i in sorted(results)] or [result(0)]


class Generations:
    """A request's generations (one per prompt) as one: their items in prompt order, choice indices continuing."""

    def __init__(self, parts: list[Generation]) -> None:
        self.parts = parts

    async def start(self) -> None:
        """Wait for every prompt's first answer (a bad request fails here)."""
        await asyncio.gather(*(part.start() for part in self.parts))

    async def items(self) -> AsyncIterator[Item]:
        """Each prompt's items in turn (the others keep generating meanwhile)."""
        try:
            for part in self.parts:
                async for item in part.items():
                    yield item
        finally:
            self.cancel()

    async def collect(self) -> list[ChoiceResult]:
        """Every choice of every prompt, by index."""
        return await collect(self.items())

    def cancel(self) -> None:
        """Stop every prompt's generation."""
        for part in self.parts:
            part.cancel()


class Generation:
    """A running generation: `items()` yields text pieces then one `Final` per choice; `cancel()` stops it.

    Choice indices are offset by `first` (the choices of the request's earlier prompts).
    """

    def __init__(self, call: grpc.aio.UnaryStreamCall, *, prompt: int = 0, n: int = 1) -> None:
        self._call = call
        self._prompt, self._n, self._first_index = prompt, n, prompt * n
        self._responses = self._read()
        self._first: Item | None = None

    async def _read(self) -> AsyncIterator[Item]:
        offset = self._first_index
        try:
            async for response in self._call:
                if response.prompt_logprobs:
                    yield Echo(tuple(_logprob(e) for e in response.prompt_logprobs), offset, self._n)
                if response.delta or response.logprobs:
                    logprobs = tuple(_logprob(e) for e in response.logprobs)
                    yield Text(response.delta, response.index + offset, logprobs)
                if response.finish_reason:
                    usage = response.usage
                    yield Final(
                        FINISH[response.finish_reason],
                        usage.prompt_tokens,
                        usage.completion_tokens,
                        response.index + offset,
                        self._prompt,
                    )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="inference") from exc

    async def start(self) -> None:
        """Wait for the service's first answer, so that a bad request fails here and not mid-stream."""
        self._first = await anext(self._responses, None)

    async def items(self) -> AsyncIterator[Item]:
        """Text pieces, each choice ending with its `Final`; cancels the generation when the consumer stops early."""
        try:
            if self._first is not None:
                yield self._first
            async for item in self._responses:
                yield item
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop generating (a no-op once the stream has ended)."""
        self._call.cancel()


class Inference(Protocol):
    """What the gateway asks of inference: one service (`InferenceClient`) or several (`InferenceRouter`)."""

    async def generate(
        self, owner: str, body: ChatCompletionRequest | CompletionRequest, *, request_id: str = ""
    ) -> Generations: ...

    async def embed(self, owner: str, body: EmbeddingRequest) -> tuple[list[list[float]], int]: ...

    async def embed_inputs(
        self, owner: str, model: str, items: Sequence[str | Sequence[int]], dimensions: int | None = None
    ) -> tuple[list[list[float]], int]: ...

    async def tokenize(self, owner: str, model: str, text: str) -> tuple[list[tuple[int, int]], int]: ...

    async def models(self, owner: str) -> list[Model]: ...

    async def load(self, owner: str, model: str, *, pin: bool) -> ModelLoad: ...

    async def status(self, owner: str) -> InferenceState: ...

    async def close(self) -> None: ...


class InferenceClient:
    """Calls the inference service over one `grpc.aio` channel, opened on first use in the serving event loop.

    `priority` is sent with every generation: PRIORITY_BATCH for the Batch API's worker, which wants throughput.
    """

    def __init__(self, target: str, *, priority: pb.Priority = pb.PRIORITY_INTERACTIVE) -> None:
        self.target = target
        self.priority = priority
        self._channel: grpc.aio.Channel | None = None
        self._stub: inference_pb2_grpc.InferenceServiceStub | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _service(self) -> inference_pb2_grpc.InferenceServiceStub:
        # An aio channel belongs to the event loop it is made in, which only exists once the app serves (and a
        # TestClient outside `with` runs each request in a new loop).
        loop = asyncio.get_running_loop()
        if self._stub is None or self._loop is not loop:
            self._loop = loop
            self._channel = grpc.aio.insecure_channel(
                self.target,
                options=CHANNEL_OPTIONS,
            )
            self._stub = inference_pb2_grpc.InferenceServiceStub(self._channel)  # type: ignore[no-untyped-call]  # generated gRPC code has no hints
        return self._stub

    async def generate(
        self, owner: str, body: ChatCompletionRequest | CompletionRequest, *, request_id: str = ""
    ) -> Generations:
        """Start a generation (one per prompt) and wait for its first answer (bad requests raise here)."""
        body.check_supported()
        requests = _requests(owner, body, request_id)
        for request in requests:
            request.priority = self.priority
        parts = [
            Generation(self._service().Generate(r, metadata=call_metadata()), prompt=i, n=body.n)
            for i, r in enumerate(requests)
        ]
        generation = Generations(parts)
        await generation.start()
        return generation

    async def embed(self, owner: str, body: EmbeddingRequest) -> tuple[list[list[float]], int]:
        """Each input's vector, in order, and the tokens the inputs took."""
        return await self.embed_inputs(owner, body.model, body.inputs(), body.dimensions)

    async def embed_inputs(
        self, owner: str, model: str, items: Sequence[str | Sequence[int]], dimensions: int | None = None
    ) -> tuple[list[list[float]], int]:
        """Each input's vector (a text or token ids), in order, and the tokens the inputs took."""
        inputs = [
            pb.EmbeddingInput(text=item) if isinstance(item, str) else pb.EmbeddingInput(tokens=pb.TokenIds(ids=item))
            for item in items
        ]
        request = pb.EmbedRequest(owner=owner, model=model, inputs=inputs, dimensions=dimensions)
        try:
            response = await self._service().Embed(request, metadata=call_metadata())
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="inference") from exc
        return [list(e.values) for e in response.data], response.prompt_tokens

    async def tokenize(self, owner: str, model: str, text: str) -> tuple[list[tuple[int, int]], int]:
        """`text`'s tokens under `model`'s tokenizer as character spans, and the model's context length."""
        request = pb.TokenizeRequest(owner=owner, model=model, text=text)
        try:
            response = await self._service().Tokenize(request, metadata=call_metadata())
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="inference") from exc
        return [(s.start, s.end) for s in response.spans], response.context_length

    async def models(self, owner: str) -> list[Model]:
        """The base models and the owner's fine-tuned models."""
        try:
            response = await self._service().ListModels(
                pb.ListModelsRequest(owner=owner), timeout=LIST_TIMEOUT_S, metadata=call_metadata()
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="inference") from exc
        return [
            Model(
                id=m.id,
                created=m.created,
                owned_by=m.owned_by,
                parent=m.parent or None,
                kind=m.kind,
                context_length=m.context_length or None,
            )
            for m in response.models
        ]

    async def load(self, owner: str, model: str, *, pin: bool) -> ModelLoad:
        """Load `model` (its base, and its adapter if it has one) on the service; `pin` keeps the adapter cached."""
        request = pb.LoadAdapterRequest(owner=owner, model=model, pin=pin)
        try:
            state = await self._service().LoadAdapter(request, timeout=LOAD_TIMEOUT_S, metadata=call_metadata())
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="inference") from exc
        return ModelLoad(
            model=state.model,
            loaded=state.loaded,
            pinned=state.pinned,
            cache_size=state.cache_size,
            cache_capacity=state.cache_capacity,
        )

    async def status(self, owner: str) -> InferenceState:
        """The loaded base model, the owner's cached adapters and the request queue."""
        try:
            state = await self._service().GetStatus(
                pb.GetStatusRequest(owner=owner), timeout=LIST_TIMEOUT_S, metadata=call_metadata()
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, service="inference") from exc
        return InferenceState(
            base_model=state.base_model or None,
            adapters={a.model: a.pinned for a in state.adapters},
            cache_size=state.cache_size,
            cache_capacity=state.cache_capacity,
            active_requests=state.active_requests,
            queued_requests=state.queued_requests,
        )

    async def close(self) -> None:
        """Close the channel, if one was opened."""
        if self._channel is not None:
            await self._channel.close()
            self._channel, self._stub, self._loop = None, None, None


def _requests(owner: str, body: ChatCompletionRequest | CompletionRequest, request_id: str) -> list[pb.GenerateRequest]:
    """One Generate request per prompt (several only for a completion with a list of prompts)."""
    if isinstance(body, ChatCompletionRequest):
        return [_request(owner, body, request_id)]
    requests = []
    for prompt in body.prompts():
        request = _request(owner, body, request_id)
        if isinstance(prompt, str):
            request.prompt = prompt
        else:
            request.prompt_tokens.CopyFrom(pb.TokenIds(ids=prompt))
        requests.append(request)
    return requests


def _request(owner: str, body: ChatCompletionRequest | CompletionRequest, request_id: str) -> pb.GenerateRequest:
    request = pb.GenerateRequest(
        owner=owner,
        model=body.model,
        max_tokens=body.token_limit,
        logprobs=body.top_logprob_count,
        frequency_penalty=body.frequency_penalty,
        presence_penalty=body.presence_penalty,
        logit_bias=body.token_bias(),
        min_p=body.min_p,
        stop=body.stop_sequences,
        request_id=request_id,
        temperature=body.temperature,
        top_p=body.top_p,
        seed=body.seed_int64,
        n=body.n,
    )
    if body.response_format is not None:
        request.response_format.CopyFrom(_response_format(body.response_format))
    if isinstance(body, ChatCompletionRequest):
        request.messages.CopyFrom(pb.ChatMessages(messages=[_chat_message(m) for m in body.messages]))
        if body.calls_tools and body.tools:
            request.tools.extend(_function_tool(t) for t in body.tools)
        calls = tools.forced(body.tools or [], body.tool_choice)
        if calls:
            request.response_format.CopyFrom(
                pb.ResponseFormat(
                    type=pb.ResponseFormat.TYPE_JSON_SCHEMA,
                    name="tool_call",
                    schema=to_struct(tools.call_schema(calls)),
                    strict=True,
                )
            )
    else:
        request.echo = body.echo
    return request


def _chat_message(message: ChatMessage) -> pb.ChatMessage:
    # "developer" is OpenAI's newer name for "system", which chat templates do not know.
    role = "system" if message.role == "developer" else message.role
    calls = [
        pb.ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "{}")
        for c in message.tool_calls or []
    ]
    return pb.ChatMessage(role=role, content=message.text(), tool_calls=calls, tool_call_id=message.tool_call_id or "")


def _function_tool(tool: Tool) -> pb.FunctionTool:
    function = tool.function
    return pb.FunctionTool(
        name=function.name, description=function.description or "", parameters=to_struct(function.parameters)
    )


def _response_format(value: ResponseFormat) -> pb.ResponseFormat:
    if isinstance(value, ResponseFormatJSONSchema):
        schema = value.json_schema
        return pb.ResponseFormat(
            type=pb.ResponseFormat.TYPE_JSON_SCHEMA,
            name=schema.name,
            schema=to_struct(schema.schema_),
            strict=bool(schema.strict),
        )
    kind = pb.ResponseFormat.TYPE_JSON_OBJECT if value.type == "json_object" else pb.ResponseFormat.TYPE_TEXT
    return pb.ResponseFormat(type=kind)
