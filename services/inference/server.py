"""The inference gRPC server: contract `distrust.inference.v1.InferenceService`. Converts, calls the engine."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

from services.inference.config import InferenceSettings
from services.inference.engine import Delta, Engine, GenerationRequest
from services.inference.engine.api import Priority, TokenLogprob
from services.inference.engine.chat import ChatMessage, FunctionTool, ToolCall
from services.inference.engine.constraints import FormatType, ResponseFormat
from services.inference.engine.penalties import Adjustments
from services.inference.engine.prefix_cache import PrefixCacheSize
from services.inference.metrics import InferenceMetrics
from services.inference.models import EngineFactory, ModelManager, Resolved
from shared.errors import invalid_field
from shared.model_registry import ModelRegistry
from shared.pb.distrust.inference.v1 import inference_pb2 as pb
from shared.pb.distrust.inference.v1 import inference_pb2_grpc
from shared.redis_store import connect
from shared.rpc.messages import open_data
from shared.rpc.server import RunningServer, start_server
from shared.storage import ObjectStore

logger = logging.getLogger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
PRIORITY: dict[int, Priority] = {
    pb.PRIORITY_UNSPECIFIED: "interactive",
    pb.PRIORITY_INTERACTIVE: "interactive",
    pb.PRIORITY_BATCH: "batch",
}
FINISH = {"stop": pb.FINISH_REASON_STOP, "length": pb.FINISH_REASON_LENGTH, "cancelled": pb.FINISH_REASON_CANCELLED}


def generation_request(request: pb.GenerateRequest, adapter: str | None, default_max_tokens: int) -> GenerationRequest:
    """The engine request for a Generate call, with `adapter` resolved; a missing input is an InvalidArgument."""
    kind = request.WhichOneof("input")
    if kind is None:
        raise invalid_field("messages", None, "chat messages or a prompt")
    prompt: str | list[int] | None = None
    if kind == "prompt":
        prompt = request.prompt
    elif kind == "prompt_tokens":
        prompt = list(request.prompt_tokens.ids)
    return GenerationRequest(
        prompt=prompt,
        messages=[_chat_message(m) for m in request.messages.messages] if kind == "messages" else None,
        tools=tuple(
            FunctionTool(name=t.name, description=t.description, parameters=open_data(t.parameters))
            for t in request.tools
        ),
        adapter=adapter,
        # 0 (echo only) generates nothing: the servicer answers it without the engine.
        max_tokens=request.max_tokens if request.HasField("max_tokens") and request.max_tokens else default_max_tokens,
        temperature=request.temperature if request.HasField("temperature") else 1.0,
        top_p=request.top_p if request.HasField("top_p") else 1.0,
        seed=request.seed if request.HasField("seed") else None,
        stop=tuple(request.stop),
        request_id=request.request_id,
        n=request.n or 1,
        logprobs=request.logprobs if request.HasField("logprobs") else None,
        adjustments=Adjustments(
            frequency_penalty=request.frequency_penalty,
            presence_penalty=request.presence_penalty,
            logit_bias=dict(request.logit_bias),
            min_p=request.min_p,
        ),
        response_format=_response_format(request.response_format)
        if request.HasField("response_format")
        else ResponseFormat(),
        priority=_priority(request.priority),
    )


def _priority(value: int) -> Priority:
    if value not in PRIORITY:
        raise invalid_field("priority", value, f"one of {sorted(PRIORITY)} (unspecified, interactive, batch)")
    return PRIORITY[value]


def _chat_message(message: pb.ChatMessage) -> ChatMessage:
    out = ChatMessage(role=message.role, content=message.content)
    if message.tool_calls:
        out["tool_calls"] = [ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in message.tool_calls]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out


def _token_logprob(entry: TokenLogprob) -> pb.TokenLogprob:
    top = [pb.TopLogprob(token=t, text=text, logprob=v) for t, text, v in entry.top]
    return pb.TokenLogprob(token=entry.token, text=entry.text, logprob=entry.logprob, top=top)


_FORMAT_TYPES: dict[int, FormatType] = {
    pb.ResponseFormat.TYPE_UNSPECIFIED: "text",
    pb.ResponseFormat.TYPE_TEXT: "text",
    pb.ResponseFormat.TYPE_JSON_OBJECT: "json_object",
    pb.ResponseFormat.TYPE_JSON_SCHEMA: "json_schema",
}


def _response_format(message: pb.ResponseFormat) -> ResponseFormat:
    kind = _FORMAT_TYPES.get(message.type)
    if kind is None:
        raise invalid_field("response_format.type", message.type, "text, json_object or json_schema")
    schema = open_data(message.schema) if message.HasField("schema") else None
    return ResponseFormat(type=kind, schema=schema, name=message.name, strict=message.strict)


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    """gRPC InferenceService: converts messages and calls the model manager; errors map through the interceptor."""

    def __init__(self, models: ModelManager, settings: InferenceSettings, metrics: InferenceMetrics) -> None:
        self.models = models
        self.settings = settings
        self.metrics = metrics

    def Generate(self, request: pb.GenerateRequest, context: grpc.ServicerContext) -> Iterator[pb.GenerateResponse]:
        def build(resolved: Resolved) -> GenerationRequest:
            return generation_request(request, resolved.adapter, self.settings.default_max_tokens)

        nothing = request.HasField("max_tokens") and request.max_tokens == 0
        if nothing and not request.echo:
            raise invalid_field("max_tokens", 0, "at least 1 (0 only with echo, for the prompt's logprobs)")
        if request.echo:
            ids, entries = self.models.prompt_logprobs(request.owner, request.model, build)
            yield pb.GenerateResponse(prompt_logprobs=[_token_logprob(e) for e in entries])
            if nothing:
                usage = pb.Usage(prompt_tokens=len(ids), completion_tokens=0, total_tokens=len(ids))
                for index in range(request.n or 1):
                    yield pb.GenerateResponse(finish_reason=pb.FINISH_REASON_LENGTH, usage=usage, index=index)
                return
        handle = self.models.submit(
            request.owner,
            request.model,
            build,
        )
        context.add_callback(handle.cancel)  # runs when the call ends, also when the client goes away
        arrived, first = time.monotonic(), True
        for item in handle.stream(self.settings.stream_interval_ms / 1000):
            if isinstance(item, Delta):
                if item.text and first:
                    self.metrics.time_to_first_token.observe(time.monotonic() - arrived)
                    first = False
                if item.text or item.logprobs:
                    logprobs = [_token_logprob(e) for e in item.logprobs]
                    yield pb.GenerateResponse(delta=item.text, index=item.index, logprobs=logprobs)
                continue
            usage = pb.Usage(
                prompt_tokens=item.prompt_tokens,
                completion_tokens=item.completion_tokens,
                total_tokens=item.prompt_tokens + item.completion_tokens,
            )
            yield pb.GenerateResponse(finish_reason=FINISH[item.finish_reason], usage=usage, index=item.index)

    def ListModels(self, request: pb.ListModelsRequest, _context: grpc.ServicerContext) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(
            models=[
                pb.Model(
                    id=m.id,
                    kind=m.kind,
                    parent=m.parent or "",
                    owned_by=m.owned_by,
                    created=m.created,
                    context_length=m.context_length or 0,
                )
                for m in self.models.list_models(request.owner)
            ]
        )

    def LoadAdapter(self, request: pb.LoadAdapterRequest, _context: grpc.ServicerContext) -> pb.AdapterState:
        engine, resolved = self.models.prepare(request.owner, request.model, pin=request.pin)
        return self._state(engine, request.model, resolved.adapter)

    def UnloadAdapter(self, request: pb.UnloadAdapterRequest, _context: grpc.ServicerContext) -> pb.AdapterState:
        resolved = self.models.unload(request.owner, request.model)
        return self._state(self.models.loaded_engine(resolved.base), request.model, resolved.adapter)

    def Embed(self, request: pb.EmbedRequest, _context: grpc.ServicerContext) -> pb.EmbedResponse:
        inputs = [i.text if i.WhichOneof("value") == "text" else list(i.tokens.ids) for i in request.inputs]
        dimensions = request.dimensions if request.HasField("dimensions") else None
        result = self.models.embed(request.owner, request.model, inputs, dimensions)
        return pb.EmbedResponse(
            data=[pb.Embedding(values=vector) for vector in result.vectors], prompt_tokens=result.prompt_tokens
        )

    def GetStatus(self, request: pb.GetStatusRequest, _context: grpc.ServicerContext) -> pb.InferenceStatus:
        status = self.models.status(request.owner)
        return pb.InferenceStatus(
            base_model=status.base_model or "",
            adapters=[pb.LoadedAdapter(model=name, pinned=pinned) for name, pinned in sorted(status.adapters.items())],
            cache_size=status.cache_size,
            cache_capacity=self.settings.adapter_cache_size,
            active_requests=status.active_requests,
            queued_requests=status.queued_requests,
        )

    def Tokenize(self, request: pb.TokenizeRequest, _context: grpc.ServicerContext) -> pb.TokenizeResponse:
        result = self.models.tokenize(request.owner, request.model, request.text)
        spans = [pb.TokenSpan(start=start, end=end) for start, end in result.spans]
        return pb.TokenizeResponse(spans=spans, context_length=result.context_length)

    def _state(self, engine: Engine | None, model: str, adapter: str | None) -> pb.AdapterState:
        loaded = engine.loaded_adapters() if engine is not None else []
        return pb.AdapterState(
            model=model,
            loaded=engine is not None and (adapter is None or adapter in loaded),
            pinned=engine is not None and bool(adapter) and adapter in engine.pinned_adapters(),
            cache_size=len(loaded),
            cache_capacity=self.settings.adapter_cache_size,
        )


def start(settings: InferenceSettings, *, factory: EngineFactory | None = None) -> RunningServer:
    """Start the inference gRPC server on `settings`' port with its model manager (engines from `factory` in tests)."""
    registry = ModelRegistry(connect(settings.redis), ObjectStore(settings.storage))

    def make_engine(path: Path) -> Engine:
        return Engine(
            path,
            max_batch_size=settings.max_batch_size,
            batch_lane_size=settings.batch_lane_size,
            adapter_cache_size=settings.adapter_cache_size,
            max_n=settings.max_n,
            max_n_tokens=settings.max_n_tokens,
            prefix_cache=PrefixCacheSize(settings.prefix_cache_bytes, settings.prefix_cache_block),
            max_queued=settings.max_queued_requests,
        )

    models = ModelManager(
        registry,
        settings.resolved_cache_dir,
        settings.allowed(),
        factory or make_engine,
        switch_timeout_s=settings.base_switch_timeout_s,
    )

    metrics = InferenceMetrics(models)

    def register(server: grpc.Server) -> None:
        servicer = InferenceServicer(models, settings, metrics)
        inference_pb2_grpc.add_InferenceServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]  # grpc_tools writes no stubs for *_pb2_grpc

    running = start_server(
        host=settings.host,
        port=settings.port,
        port_setting="DISTRUST_INFERENCE_PORT",
        register=register,
        service_names=[SERVICE_NAME],
        max_workers=settings.max_workers,
    )
    running.on_stop.append(models.close)
    if settings.metrics_port is not None:
        port = metrics.serve(settings.host, settings.metrics_port)
        running.on_stop.append(metrics.stop)
        logger.info("metrics served", extra={"url": f"http://{settings.host}:{port}/metrics"})
    return running
