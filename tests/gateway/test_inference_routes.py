"""Chat, completions and models through the gateway, against a real inference service with a tiny model.

Every body is checked with openai-python's own types, so our schemas cannot drift from OpenAI's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
import uvicorn
from fastapi.testclient import TestClient
from openai.types import Completion, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.inference.config import InferenceSettings
from services.inference.server import start
from services.trainer.models.tiny import build_tiny_model
from shared.log import current_context
from shared.model_registry import ModelRegistry
from shared.redis_store import connect
from shared.settings import RedisSettings, StorageSettings, load_settings
from shared.storage import ObjectStore
from tests.gateway.users import ALICE
from tests.helpers.host import free_port

BASE = "gw-tiny"
MESSAGES = [{"role": "user", "content": "Tell me about the old letters."}]


def make_settings(storage: StorageSettings, redis: RedisSettings, inference_target: str) -> GatewaySettings:
    return load_settings(
        GatewaySettings,
        storage=storage,
        redis=redis,
        api_keys="key-alice=alice",
        inference_target=inference_target,
        backend_timeout_s=0.5,
    )


@pytest.fixture(scope="module")
def base_model(redis_settings: RedisSettings, store: ObjectStore, tmp_path_factory: pytest.TempPathFactory) -> str:
    registry = ModelRegistry(connect(redis_settings), store)
    registry.register_base(BASE, build_tiny_model(tmp_path_factory.mktemp("base") / BASE, hidden_size=64, num_layers=2))
    return BASE


@pytest.fixture(scope="module")
def gateway(
    base_model: str,
    redis_settings: RedisSettings,
    storage_settings: StorageSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    inference = start(
        InferenceSettings(
            host="127.0.0.1",
            port=0,
            redis=redis_settings,
            storage=storage_settings,
            cache_dir=tmp_path_factory.mktemp("cache"),
        )
    )
    settings = make_settings(storage_settings, redis_settings, f"127.0.0.1:{inference.port}")
    with TestClient(create_app(settings)) as client:
        yield client
    inference.stop(0)


def events(client: TestClient, path: str, body: dict[str, object]) -> list[str]:
    with client.stream("POST", path, headers=ALICE, json={**body, "stream": True}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    return [line.removeprefix("data: ") for line in lines[:-1]]


def test_models_list_and_retrieve(gateway: TestClient) -> None:
    listing = gateway.get("/v1/models", headers=ALICE).json()
    assert listing["object"] == "list"
    models = [Model.model_validate(entry) for entry in listing["data"]]
    base = next(m for m in models if m.id == BASE)
    assert base.owned_by == "system"
    assert base.model_extra == {"parent": None, "kind": "base", "context_length": 2048, "provenance": None}
    assert Model.model_validate(gateway.get(f"/v1/models/{BASE}", headers=ALICE).json()) == base
    missing = gateway.get("/v1/models/no-such-model", headers=ALICE)
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "model"


def test_chat_completion(gateway: TestClient) -> None:
    body = {"model": BASE, "messages": MESSAGES, "max_tokens": 8, "temperature": 0}
    response = gateway.post("/v1/chat/completions", headers=ALICE, json=body)
    assert response.status_code == 200, response.text
    reply = ChatCompletion.model_validate(response.json())
    assert reply.id.startswith("chatcmpl-") and reply.model == BASE and len(reply.choices) == 1
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason in ("stop", "length")
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    developer = [{"role": "developer", "content": [{"type": "text", "text": "Be brief."}]}, *MESSAGES]
    other = gateway.post("/v1/chat/completions", headers=ALICE, json={**body, "messages": developer})
    assert other.status_code == 200 and ChatCompletion.model_validate(other.json()).usage.prompt_tokens > 0  # type: ignore[union-attr]


def test_chat_stream_matches_the_whole_reply(gateway: TestClient) -> None:
    body = {"model": BASE, "messages": MESSAGES, "max_tokens": 8, "temperature": 0}
    data = events(gateway, "/v1/chat/completions", {**body, "stream_options": {"include_usage": True}})
    chunks = [ChatCompletionChunk.model_validate_json(item) for item in data]
    assert chunks[0].choices[0].delta.role == "assistant" and len({c.id for c in chunks}) == 1
    assert "usage" not in json.loads(data[0]) and "role" not in json.loads(data[1])["choices"][0]["delta"]
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1 and json.loads(data[-2])["choices"][0]["delta"] == {}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    whole = gateway.post("/v1/chat/completions", headers=ALICE, json=body).json()
    assert text == whole["choices"][0]["message"]["content"]
    without_usage = events(gateway, "/v1/chat/completions", body)
    assert all(ChatCompletionChunk.model_validate_json(item).usage is None for item in without_usage)


def test_completions_whole_and_streamed(gateway: TestClient) -> None:
    body = {"model": BASE, "prompt": "The archive holds", "max_tokens": 8, "temperature": 0}
    response = gateway.post("/v1/completions", headers=ALICE, json=body)
    assert response.status_code == 200, response.text
    whole = Completion.model_validate(response.json())
    assert whole.object == "text_completion" and whole.id.startswith("cmpl-") and whole.usage is not None
    data = [json.loads(item) for item in events(gateway, "/v1/completions", body)]
    # OpenAI's streamed text chunks carry finish_reason null, which its Completion type (used unvalidated) forbids.
    assert all(d["choices"][0]["finish_reason"] is None and "usage" not in d for d in data[:-1])
    last = Completion.model_validate(data[-1])
    assert last.choices[0].finish_reason in ("stop", "length") and last.choices[0].text == ""
    assert "".join(d["choices"][0]["text"] for d in data) == whole.choices[0].text
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="key-alice", http_client=gateway, max_retries=0)
    streamed = sdk.completions.create(model=BASE, prompt="The archive holds", max_tokens=8, temperature=0, stream=True)
    assert "".join(chunk.choices[0].text for chunk in streamed) == whole.choices[0].text


def test_bad_requests_fail_before_streaming(gateway: TestClient) -> None:
    cases = [
        ({"model": "no-such-model"}, 404, "model"),
        ({"model": BASE, "n": 0}, 400, "n"),
        ({"model": BASE, "n": 17}, 400, "n"),
        ({"model": BASE, "temperature": 5}, 400, "temperature"),
        ({"model": BASE, "tools": [{"type": "function"}]}, 400, "tools[0].function"),
        ({"model": BASE, "frequency_penalty": 2.5}, 400, "frequency_penalty"),
        ({"model": BASE, "best_of": 2}, 400, "best_of"),
    ]
    for extra, status, param in cases:
        for stream in (False, True):
            body = {"messages": MESSAGES, "max_tokens": 4, "stream": stream, **extra}
            response = gateway.post("/v1/chat/completions", headers=ALICE, json=body)
            assert response.status_code == status, (extra, stream, response.text)
            assert response.json()["error"]["param"] == param


def test_unknown_message_field_is_an_error(gateway: TestClient) -> None:
    messages = [{"role": "user", "content": "Hello", "name": "ann"}]
    response = gateway.post("/v1/chat/completions", headers=ALICE, json={"model": BASE, "messages": messages})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "messages[0].name"


class _RequestIds(logging.Handler):
    """Records the request id the inference service logs each record under."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[object] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(current_context().get("request_id"))


def test_request_id_reaches_the_inference_service(gateway: TestClient) -> None:
    handler = _RequestIds()
    logger = logging.getLogger("shared.rpc.status")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        body = {"model": "no-such-model", "messages": MESSAGES}
        response = gateway.post("/v1/chat/completions", headers={**ALICE, "x-request-id": "gw-test-42"}, json=body)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert response.status_code == 404 and response.headers["x-request-id"] == "gw-test-42"
    assert "gw-test-42" in handler.seen


def test_unreachable_inference_is_503(redis_settings: RedisSettings, storage_settings: StorageSettings) -> None:
    with TestClient(create_app(make_settings(storage_settings, redis_settings, "127.0.0.1:1"))) as client:
        for method, path, body in (
            ("GET", "/v1/models", None),
            ("POST", "/v1/chat/completions", {"model": BASE, "messages": MESSAGES, "stream": True}),
            ("POST", "/v1/completions", {"model": BASE, "prompt": "x"}),
        ):
            response = client.request(method, path, headers=ALICE, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["error"]["code"] == "inference_unavailable"


def test_service_failing_mid_stream_ends_the_stream_with_an_error_event(
    base_model: str, redis_settings: RedisSettings, storage_settings: StorageSettings, tmp_path: Path
) -> None:
    """A real uvicorn server (TestClient buffers streams): the inference service stops after the first chunks."""
    inference = start(
        InferenceSettings(
            host="127.0.0.1", port=0, redis=redis_settings, storage=storage_settings, cache_dir=tmp_path / "cache"
        )
    )
    app = create_app(make_settings(storage_settings, redis_settings, f"127.0.0.1:{inference.port}"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    body = {"model": base_model, "messages": MESSAGES, "max_tokens": 1500, "temperature": 1.0, "stream": True}
    url = f"http://127.0.0.1:{server.config.port}/v1/chat/completions"
    try:
        with httpx.stream("POST", url, headers=ALICE, json=body, timeout=60) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            first = [next(line for line in lines if line) for _ in range(3)]
            inference.stop(0)
            rest = [line for line in lines if line]
    finally:
        server.should_exit = True
        thread.join(10)
    assert all(ChatCompletionChunk.model_validate_json(line.removeprefix("data: ")) for line in first)
    assert rest[-1] == "data: [DONE]"
    error = json.loads(rest[-2].removeprefix("data: "))["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == "inference_unavailable", error


def _raw(gateway: TestClient, path: str, body: bytes) -> httpx.Response:
    return gateway.post(path, headers={**ALICE, "content-type": "application/json"}, content=body)


def test_hostile_values_are_400s_naming_the_field(gateway: TestClient) -> None:
    """Out-of-range integers, lax types, a lone surrogate, a huge name: a 400 naming the field, never a 500."""
    cases: list[tuple[dict[str, object], str]] = [
        ({"max_tokens": -1}, "max_tokens"),
        ({"max_tokens": 2**64}, "max_tokens"),
        ({"seed": 2**64}, "seed"),
        ({"seed": -(2**63) - 1}, "seed"),
        ({"n": 2**64}, "n"),
        ({"top_logprobs": -1, "logprobs": True}, "top_logprobs"),
        ({"logit_bias": {"-1": 5}}, "logit_bias"),
        ({"logit_bias": {str(2**40): 5}}, "logit_bias"),
        ({"stream": "yes"}, "stream"),
        ({"max_tokens": "16"}, "max_tokens"),
        ({"temperature": "0.5"}, "temperature"),
        ({"model": "m" * 100_000}, "model"),
    ]
    for extra, param in cases:
        body = {"model": BASE, "messages": MESSAGES, "max_tokens": 4, **extra}
        response = gateway.post("/v1/chat/completions", headers=ALICE, json=body)
        assert response.status_code == 400, (extra, response.status_code, response.text[:300])
        assert response.json()["error"]["param"] == param, (extra, response.text[:300])
        assert len(response.text) < 2_000  # what is echoed is truncated
    surrogate = b'{"model": "gw-tiny", "max_tokens": 2, "messages": [{"role": "user", "content": "a\\ud800b"}]}'
    response = _raw(gateway, "/v1/chat/completions", surrogate)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "messages[0].content"
    response = _raw(gateway, "/v1/completions", b'{"model": "gw-tiny", "max_tokens": 2, "prompt": "\\udfff"}')
    assert response.status_code == 400 and response.json()["error"]["param"] == "prompt", response.text


def test_malformed_json_is_a_400_without_a_byte_offset_param(gateway: TestClient) -> None:
    response = _raw(gateway, "/v1/chat/completions", b'{"model": "gw-tiny", "messages": [')
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] is None and "JSON" in error["message"]
    assert gateway.get("/v1/models", headers=ALICE).status_code == 200  # the connection is still good


def test_an_oversized_body_is_a_413(gateway: TestClient) -> None:
    huge = json.dumps({"model": BASE, "messages": MESSAGES, "padding": "x" * (9 * 1024 * 1024)}).encode()
    response = _raw(gateway, "/v1/chat/completions", huge)
    assert response.status_code == 413, response.text[:300]
    error = response.json()["error"]
    assert error["code"] == "request_too_large" and len(response.text) < 2_000


def test_a_huge_prompt_is_refused_at_once_and_stalls_no_one(gateway: TestClient) -> None:
    """A 5 MB prompt (under the body limit) is refused without tokenizing it while a small chat runs beside it."""
    small = {"model": BASE, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    huge = {"model": BASE, "messages": [{"role": "user", "content": "word " * 1_000_000}], "max_tokens": 4}
    with ThreadPoolExecutor(2) as pool:
        started = time.perf_counter()
        refused = pool.submit(gateway.post, "/v1/chat/completions", headers=ALICE, json=huge)
        answered = pool.submit(gateway.post, "/v1/chat/completions", headers=ALICE, json=small)
        assert answered.result().status_code == 200
        error = refused.result()
        assert time.perf_counter() - started < 5.0
    assert error.status_code == 400 and error.json()["error"]["code"] == "context_length_exceeded", error.text
    assert error.json()["error"]["param"] == "messages" and len(error.text) < 2000
