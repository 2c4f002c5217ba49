"""Generation through the gateway's OpenAI-compatible API, with the official `openai` SDK, on real servers."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import numpy as np
import openai
import pytest
import redis as redis_lib

from services.inference.config import InferenceSettings
from services.inference.engine import Engine
from services.inference.server import start
from services.inference.word_embeddings import WORDLLAMA
from services.trainer.default_model import ensure_tiny_model
from shared.model_registry import ModelRegistry
from shared.settings import RedisSettings, StorageSettings
from shared.storage import ObjectStore
from tests.helpers.gateway import gateway_test_settings, served_gateway
from tests.helpers.host import free_port
from tests.helpers.random_adapter import make_random_adapter
from tests.inference.adapters import register_adapter

pytestmark = pytest.mark.slow
BASE = "infer-tiny-llama"
PROMPT = [{"role": "user", "content": "Tell me about the old letters in the archive."}]


@pytest.fixture(scope="module")
def stack(
    redis_settings: RedisSettings,
    storage_settings: StorageSettings,
    store: ObjectStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict]:
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    registry = ModelRegistry(client, store)
    ensure_tiny_model(registry, tmp_path_factory.mktemp("build"), name=BASE, hidden_size=64, num_layers=2)
    base_dir = registry.fetch_base(BASE, tmp_path_factory.mktemp("cache"))
    work = tmp_path_factory.mktemp("adapters")
    for i, owner in enumerate(("alice", "alice", "bob")):
        register_adapter(
            registry,
            store,
            make_random_adapter(base_dir, work / f"a{i}", seed=i, rank=4, magnitude=0.5),
            name=f"ft:{BASE}:a{i}",
            owner=owner,
            base=BASE,
            job_id=f"ftjob-test{i}",
        )
    engines: list[Engine] = []

    def factory(path: Path) -> Engine:
        engines.append(Engine(path, max_batch_size=8, adapter_cache_size=2))
        return engines[-1]

    inference = start(
        InferenceSettings(
            host="127.0.0.1",
            port=0,
            redis=redis_settings,
            storage=storage_settings,
            cache_dir=tmp_path_factory.mktemp("icache"),
            metrics_port=(metrics_port := free_port()),
        ),
        factory=factory,
    )
    settings = gateway_test_settings(storage_settings, redis_settings, inference_target=f"127.0.0.1:{inference.port}")
    with served_gateway(settings) as url:
        yield {
            "url": f"{url}/v1",
            "engines": engines,
            "base_dir": base_dir,
            "work": work,
            "metrics": f"http://127.0.0.1:{metrics_port}/metrics",
        }
    inference.stop(0)


def _refused(stack: dict, path: str, body: dict[str, object]) -> str:
    """POST `body` to `path`, expect a 400, and return the `param` its error names."""
    answer = httpx.post(f"{stack['url']}/{path}", headers={"Authorization": "Bearer key-alice"}, json=body, timeout=30)
    assert answer.status_code == 400, answer.text
    return str(answer.json()["error"]["param"])


def sdk(stack: dict, key: str = "key-alice") -> openai.OpenAI:
    return openai.OpenAI(base_url=stack["url"], api_key=key, max_retries=0)


def test_models_lists_bases_and_own_adapters(stack: dict) -> None:
    alice = {m.id for m in sdk(stack).models.list()}
    assert {BASE, f"ft:{BASE}:a0", f"ft:{BASE}:a1"} <= alice and f"ft:{BASE}:a2" not in alice
    bob = {m.id for m in sdk(stack, "key-bob").models.list()}
    assert f"ft:{BASE}:a2" in bob and f"ft:{BASE}:a0" not in bob


def test_adapters_differ_and_switching_never_reloads_the_base(stack: dict) -> None:
    client = sdk(stack)
    outputs = {}
    for model in (f"ft:{BASE}:a0", f"ft:{BASE}:a1", f"ft:{BASE}:a0", BASE):
        reply = client.chat.completions.create(model=model, messages=PROMPT, max_tokens=12, temperature=0, seed=1)
        assert reply.object == "chat.completion" and reply.choices[0].message.role == "assistant"
        assert reply.usage.completion_tokens > 0 and reply.usage.total_tokens > reply.usage.completion_tokens
        text = reply.choices[0].message.content
        assert outputs.setdefault(model, text) == text  # deterministic per model
    assert outputs[f"ft:{BASE}:a0"] != outputs[f"ft:{BASE}:a1"]
    assert len(stack["engines"]) == 1 and stack["engines"][0].base_loads == 1


def test_streaming_chunks_follow_openais_format(stack: dict) -> None:
    stream = sdk(stack).chat.completions.create(
        model=f"ft:{BASE}:a1",
        messages=PROMPT,
        max_tokens=10,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1 and finishing[0].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    full = sdk(stack).chat.completions.create(model=f"ft:{BASE}:a1", messages=PROMPT, max_tokens=10, temperature=0)
    assert text == full.choices[0].message.content
    with httpx.stream(
        "POST",
        stack["url"] + "/chat/completions",
        headers={"Authorization": "Bearer key-alice"},
        json={"model": BASE, "messages": PROMPT, "max_tokens": 4, "stream": True},
    ) as raw:
        lines = [line for line in raw.iter_lines() if line]
    assert lines[-1] == "data: [DONE]" and json.loads(lines[0].removeprefix("data: "))["choices"][0]["delta"]


def test_completions_and_stop_sequences(stack: dict) -> None:
    client = sdk(stack)
    full = client.completions.create(model=BASE, prompt="The archive holds", max_tokens=16, temperature=0).choices[0]
    assert full.text and full.finish_reason in ("stop", "length")
    if len(full.text) > 6:
        stop = full.text[3:6]
        cut = client.completions.create(
            model=BASE, prompt="The archive holds", max_tokens=16, temperature=0, stop=[stop]
        ).choices[0]
        assert cut.finish_reason == "stop" and cut.text == full.text[: full.text.index(stop)]


def test_errors_use_openais_body(stack: dict) -> None:
    client = sdk(stack)
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=PROMPT)
    assert missing.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError):  # another owner's adapter is not usable
        client.chat.completions.create(model=f"ft:{BASE}:a2", messages=PROMPT)
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=BASE, messages=PROMPT, temperature=5)
    assert bad.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as long:
        client.chat.completions.create(model=BASE, messages=PROMPT, max_tokens=10_000_000)
    assert "context" in long.value.body["message"] or "limit" in long.value.body["message"]
    with pytest.raises(openai.AuthenticationError):
        sdk(stack, "wrong").models.list()


def test_client_disconnect_cancels_generation(stack: dict) -> None:
    started = time.monotonic()
    with httpx.stream(
        "POST",
        stack["url"] + "/chat/completions",
        headers={"Authorization": "Bearer key-alice"},
        json={"model": BASE, "messages": PROMPT, "max_tokens": 1500, "stream": True, "temperature": 1.0},
        timeout=30,
    ) as raw:
        for i, _line in enumerate(raw.iter_lines()):
            if i > 3:
                break
    # The freed slot lets the next request through at once, while the abandoned one would run 1500 tokens.
    reply = sdk(stack).chat.completions.create(model=BASE, messages=PROMPT, max_tokens=4, temperature=0)
    assert reply.choices[0].finish_reason in ("stop", "length")
    engine = stack["engines"][0]
    deadline = time.monotonic() + 10
    while engine.active_requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.active_requests() == 0, "the abandoned generation is still running"
    assert time.monotonic() - started < 30


def _scrape(stack: dict) -> dict[str, float]:
    """Every sample of the inference service's /metrics, by name and labels as written."""
    samples: dict[str, float] = {}
    for line in httpx.get(stack["metrics"], timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_prometheus_metrics_count_what_the_engine_did(stack: dict) -> None:
    labels = f'{{base_model="{BASE}"}}'
    sdk(stack).chat.completions.create(model=BASE, messages=PROMPT, max_tokens=2)  # the engine is loaded
    before = _scrape(stack)
    completions = [
        sdk(stack).chat.completions.create(model=model, messages=PROMPT, max_tokens=6, temperature=0)
        for model in (BASE, f"ft:{BASE}:a0", f"ft:{BASE}:a1", f"ft:{BASE}:a0")
    ]
    completions.append(
        sdk(stack, "key-bob").chat.completions.create(model=f"ft:{BASE}:a2", messages=PROMPT, max_tokens=6)
    )
    after = _scrape(stack)

    def grew(name: str) -> float:
        return after[name] - before.get(name, 0.0)

    generated = sum(c.usage.completion_tokens for c in completions if c.usage)
    assert grew(f"distrust_inference_generated_tokens_total{labels}") == generated
    assert grew(f"distrust_inference_prefill_tokens_total{labels}") > 0
    assert grew(f"distrust_inference_step_batch_size_count{labels}") == grew(f"distrust_inference_steps_total{labels}")
    assert grew("distrust_inference_adapter_cache_hits_total") >= 1  # a0 again, still cached
    assert grew("distrust_inference_adapter_cache_misses_total") >= 1
    assert after[f"distrust_inference_adapter_cache_evictions_total{labels}"] >= 1  # 3 adapters, room for 2
    assert grew("distrust_inference_time_to_first_token_seconds_count") == len(completions)
    assert after[f"distrust_inference_queue_depth{labels}"] == 0


def test_embeddings_through_the_sdk(stack: dict) -> None:
    client = sdk(stack)
    texts = ["The river was measured at dawn.", "A letter from the archive"]
    floats = client.embeddings.create(model=BASE, input=texts)
    assert [d.index for d in floats.data] == [0, 1] and floats.model == BASE
    assert floats.usage.prompt_tokens == floats.usage.total_tokens > 0
    vectors = np.array([d.embedding for d in floats.data])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # The SDK asks for base64 by default when numpy is there and decodes it; ask explicitly both ways.
    raw = httpx.post(
        f"{stack['url']}/embeddings",
        headers={"Authorization": "Bearer key-alice"},
        json={"model": BASE, "input": texts, "encoding_format": "base64", "dimensions": 8},
        timeout=30,
    ).json()
    decoded = np.array([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in raw["data"]])
    expected = vectors[:, :8] / np.linalg.norm(vectors[:, :8], axis=1, keepdims=True)
    np.testing.assert_allclose(decoded, expected, atol=1e-5)
    ids = client.embeddings.create(model=BASE, input=[[1, 2, 3], [4, 5]])
    assert len(ids.data) == 2 and ids.usage.prompt_tokens == 5
    adapted = client.embeddings.create(model=f"ft:{BASE}:a0", input=texts)
    assert not np.allclose([d.embedding for d in adapted.data], vectors, atol=1e-3)
    for body, param in [
        ({"model": BASE, "input": ""}, "input[0]"),
        ({"model": BASE, "input": texts, "dimensions": 10**6}, "dimensions"),
        ({"model": BASE, "input": texts, "encoding_format": "int8"}, "encoding_format"),
        ({"model": BASE, "input": texts, "truncate": True}, "truncate"),
    ]:
        assert _refused(stack, "embeddings", body) == param
    with pytest.raises(openai.NotFoundError):
        sdk(stack, "key-bob").embeddings.create(model=f"ft:{BASE}:a0", input=texts)


def test_the_word_embeddings_model_is_listed_embeds_and_refuses_to_chat(stack: dict) -> None:
    client = sdk(stack)
    listed = {m.id: m for m in client.models.list()}
    assert listed[WORDLLAMA.name].kind == "embedding" and listed[WORDLLAMA.name].owned_by == "system"  # type: ignore[attr-defined]  # our extension field
    texts = ["The captain's logbook of the storm.", "The ship's log records the gale.", "A cake recipe."]
    answer = client.embeddings.create(model=WORDLLAMA.name, input=texts)
    vectors = np.array([d.embedding for d in answer.data])
    assert vectors.shape == (3, 256) and answer.model == WORDLLAMA.name and answer.usage.prompt_tokens > 0
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    short = client.embeddings.create(model=WORDLLAMA.name, input=texts[:1], dimensions=32)
    assert len(short.data[0].embedding) == 32
    chat = {"model": WORDLLAMA.name, "messages": [{"role": "user", "content": "hi"}]}
    assert _refused(stack, "chat/completions", chat) == "model"
    assert _refused(stack, "embeddings", {"model": WORDLLAMA.name, "input": texts, "dimensions": 300}) == "dimensions"


WEATHER = {
    "type": "object",
    "properties": {"sunny": {"type": "boolean"}, "colour": {"enum": ["red", "blue", "grey"]}},
    "required": ["sunny", "colour"],
    "additionalProperties": False,
}


def test_response_format_json_schema_and_json_object(stack: dict) -> None:
    client = sdk(stack)
    response_format = {"type": "json_schema", "json_schema": {"name": "weather", "schema": WEATHER, "strict": True}}
    for model in (BASE, f"ft:{BASE}:a0"):
        reply = client.chat.completions.create(
            model=model, messages=PROMPT, max_tokens=60, temperature=0.9, seed=4, response_format=response_format
        )
        assert reply.choices[0].finish_reason == "stop"
        jsonschema.validate(json.loads(reply.choices[0].message.content or ""), WEATHER)
    stream = client.chat.completions.create(
        model=BASE, messages=PROMPT, max_tokens=60, temperature=0, stream=True, response_format=response_format
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    jsonschema.validate(json.loads(streamed), WEATHER)
    asked = [{"role": "user", "content": "Reply in JSON about the archive."}]
    free = client.chat.completions.create(
        model=BASE, messages=asked, max_tokens=12, temperature=0, response_format={"type": "json_object"}
    )
    assert (free.choices[0].message.content or "").startswith("{")
    refusals = [
        ({"messages": PROMPT, "response_format": {"type": "json_object"}}, "messages"),
        (
            {
                "messages": PROMPT,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "bad", "schema": {"type": "object", "properties": {"a": {"type": "x"}}}},
                },
            },
            "response_format.json_schema.schema",
        ),
        ({"messages": PROMPT, "response_format": {"type": "yaml"}}, "response_format"),
    ]
    for body, param in refusals:
        assert _refused(stack, "chat/completions", {"model": BASE, "max_tokens": 4, **body}).startswith(param)


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"enum": ["Paris", "Rome"]}, "unit": {"enum": ["C", "F"]}},
                "required": ["city", "unit"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "is_open",
            "parameters": {
                "type": "object",
                "properties": {"open": {"type": "boolean"}},
                "required": ["open"],
                "additionalProperties": False,
            },
        },
    },
]


def test_tool_calls_required_named_streamed_and_answered(stack: dict) -> None:
    client = sdk(stack)
    asked = [{"role": "user", "content": "What is the weather in Paris?"}]
    reply = client.chat.completions.create(
        model=BASE, messages=asked, tools=TOOLS, tool_choice="required", max_tokens=60, temperature=0
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = (choice.message.tool_calls or [])[0]
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
    jsonschema.validate(json.loads(call.function.arguments), schemas[call.function.name])

    named = client.chat.completions.create(
        model=f"ft:{BASE}:a1",
        messages=asked,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "is_open"}},
        max_tokens=40,
        temperature=0.8,
        seed=2,
        stream=True,
    )
    chunks = list(named)
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert [d.function.name for d in deltas] == ["is_open"]
    assert json.loads(deltas[0].function.arguments)["open"] in (True, False)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    answered = asked + [
        {
            "role": "assistant",
            "tool_calls": [{"id": call.id, "type": "function", "function": call.function.model_dump()}],
        },
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21}'},
    ]
    plain = client.chat.completions.create(model=BASE, messages=answered, tools=TOOLS, tool_choice="none", max_tokens=8)
    assert plain.choices[0].finish_reason in ("stop", "length") and plain.choices[0].message.tool_calls is None

    refusals = [
        (
            {"messages": [*asked, {"role": "tool", "tool_call_id": "call_x", "content": "1"}]},
            "messages[1].tool_call_id",
        ),
        (
            {"messages": asked, "tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
        ),
        ({"messages": asked, "tool_choice": "required"}, "tool_choice"),
        ({"messages": asked, "tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "tools"),
    ]
    for body, param in refusals:
        assert _refused(stack, "chat/completions", {"model": BASE, "max_tokens": 4, **body}).startswith(param)


def _log_softmax(base_dir: Path, ids: list[int]) -> np.ndarray:
    import mlx.core as mx
    import mlx_lm

    model, _ = mlx_lm.load(str(base_dir))
    logits = model(mx.array([ids])).astype(mx.float32)[0]
    return np.array(logits - mx.logsumexp(logits, axis=-1, keepdims=True))


def test_logprobs_echo_and_token_prompts_as_lm_eval_sends_them(stack: dict) -> None:
    client = sdk(stack)
    chat = client.chat.completions.create(
        model=BASE, messages=PROMPT, max_tokens=5, temperature=0, logprobs=True, top_logprobs=3
    )
    content = chat.choices[0].logprobs.content  # type: ignore[union-attr]
    assert len(content) == 5 and all(len(t.top_logprobs) == 3 for t in content)
    assert all(t.logprob == pytest.approx(t.top_logprobs[0].logprob, abs=1e-4) for t in content)  # greedy
    streamed = client.chat.completions.create(
        model=BASE, messages=PROMPT, max_tokens=5, temperature=0, logprobs=True, stream=True
    )
    tokens = [t for c in streamed if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content or []]
    assert [t.token for t in tokens] == [t.token for t in content]

    # lm-evaluation-harness's log-likelihood request: token-id prompts, echo, logprobs 1, max_tokens 1.
    prompts = [[1, 5, 9, 13], [2, 6, 10], [3, 7, 11, 15, 19]]
    body = {
        "model": BASE,
        "prompt": prompts,
        "temperature": 0,
        "max_tokens": 1,
        "logprobs": 1,
        "seed": 1234,
        "echo": True,
    }
    answer = httpx.post(
        f"{stack['url']}/completions", headers={"Authorization": "Bearer key-alice"}, json=body, timeout=60
    ).json()
    choices = sorted(answer["choices"], key=lambda c: c["index"])
    assert [c["index"] for c in choices] == [0, 1, 2]
    for ids, choice in zip(prompts, choices, strict=True):
        logprobs = choice["logprobs"]
        assert len(logprobs["token_logprobs"]) == len(ids) + 1 and logprobs["token_logprobs"][0] is None
        reference = _log_softmax(stack["base_dir"], ids)
        for i in range(1, len(ids)):
            assert logprobs["token_logprobs"][i] == pytest.approx(float(reference[i - 1][ids[i]]), abs=1e-4)
            assert len(logprobs["top_logprobs"][i]) >= 1
        assert choice["text"].startswith("".join(logprobs["tokens"][: len(ids)]))
    assert answer["usage"]["prompt_tokens"] == sum(len(p) for p in prompts)

    only_prompt = client.completions.create(model=BASE, prompt="The river", max_tokens=0, echo=True, logprobs=0)
    assert only_prompt.choices[0].text == "The river" and only_prompt.usage.completion_tokens == 0
    refusals = [
        ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "x", "logprobs": 21}, "logprobs"),
        ({"prompt": [[1, 2], []]}, "prompt"),
    ]
    for extra, param in refusals:
        assert _refused(stack, "completions", {"model": BASE, **extra}) == param
    chat = {"model": BASE, "messages": PROMPT, "logprobs": True, "top_logprobs": 21}
    assert _refused(stack, "chat/completions", chat) == "top_logprobs"


def test_penalties_bias_min_p_user_and_metadata(stack: dict) -> None:
    client = sdk(stack)
    forced = client.completions.create(
        model=BASE, prompt="The river", max_tokens=4, temperature=0, logit_bias={"42": 100}, logprobs=0
    )
    tokens = forced.choices[0].logprobs.tokens  # type: ignore[union-attr]
    assert tokens is not None and len(tokens) == 4 and len(set(tokens)) == 1  # token 42, forced four times
    chat = client.chat.completions.create(
        model=f"ft:{BASE}:a0",
        messages=PROMPT,
        max_tokens=6,
        frequency_penalty=1.5,
        presence_penalty=0.5,
        extra_body={"min_p": 0.1},
        user="user-7",
        metadata={"run": "a"},
        seed=5,
    )
    assert chat.choices[0].finish_reason in ("stop", "length")
    for extra, param in [
        ({"frequency_penalty": 3}, "frequency_penalty"),
        ({"logit_bias": {"99999999": 5}}, "logit_bias"),
        ({"logit_bias": {"a": 5}}, "logit_bias"),
        ({"min_p": 2}, "min_p"),
    ]:
        assert _refused(stack, "completions", {"model": BASE, "prompt": "x", **extra}) == param
