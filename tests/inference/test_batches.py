"""OpenAI's Batch API end to end with the `openai` SDK: gateway → Redis / S3 → batch Celery workers → inference."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import redis as redis_lib

from services.gateway.batches.results import BatchResults
from services.inference.config import InferenceSettings
from services.inference.server import start
from services.trainer.default_model import ensure_tiny_model
from shared.model_registry import ModelRegistry
from shared.settings import RedisSettings, StorageSettings
from shared.storage import ObjectStore
from tests.helpers.gateway import gateway_test_settings, served_gateway
from tests.helpers.workers import Workers, backend_env, wait_for

pytestmark = pytest.mark.slow
BASE = "batch-tiny-llama"
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def stack(
    redis_settings: RedisSettings,
    storage_settings: StorageSettings,
    store: ObjectStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    ensure_tiny_model(ModelRegistry(client, store), tmp_path_factory.mktemp("build"), name=BASE, hidden_size=64)
    inference = start(
        InferenceSettings(
            host="127.0.0.1",
            port=0,
            redis=redis_settings,
            storage=storage_settings,
            cache_dir=tmp_path_factory.mktemp("icache"),
        )
    )
    env = backend_env(
        redis_settings,
        storage_settings,
        DISTRUST_DATA_DIR=str(tmp_path_factory.mktemp("batch-data")),
        DISTRUST_BATCH_INFERENCE_TARGET=f"127.0.0.1:{inference.port}",
        DISTRUST_BATCH_LEASE_TTL_S="3",
        DISTRUST_BATCH_PROGRESS_INTERVAL_S="0.2",
    )
    workers = Workers(env, tmp_path_factory.mktemp("batch-logs"), app="services.gateway.batches.worker", queue="batch")
    settings = gateway_test_settings(
        storage_settings, redis_settings, inference_target=f"127.0.0.1:{inference.port}", reaper_interval_s=0.5
    )
    with served_gateway(settings) as url:
        yield {"url": f"{url}/v1", "workers": workers, "redis": client}
    workers.stop_all()
    inference.stop(0)


def sdk(stack: dict[str, Any], key: str = "key-alice") -> openai.OpenAI:
    return openai.OpenAI(base_url=stack["url"], api_key=key, max_retries=0)


def _running(stack: dict[str, Any]) -> None:
    if not any(p.poll() is None for p in stack["workers"].procs):
        stack["workers"].start()


def _line(custom_id: str, body: dict[str, Any], url: str = CHAT) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def _chat(custom_id: str, content: str, **options: Any) -> dict[str, Any]:
    body = {"model": BASE, "messages": [{"role": "user", "content": content}], "max_tokens": 6, **options}
    return _line(custom_id, body)


def _upload(client: openai.OpenAI, lines: list[dict[str, Any]], purpose: str = "batch") -> str:
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return client.files.create(file=("requests.jsonl", io.BytesIO(data)), purpose=purpose).id  # type: ignore[arg-type]


def _finished(client: openai.OpenAI, batch_id: str, stack: dict[str, Any], timeout_s: float = 120) -> Any:
    return wait_for(
        lambda: (
            (b := client.batches.retrieve(batch_id)).status in ("completed", "failed", "cancelled", "expired") and b
        ),
        timeout_s,
        f"batch {batch_id}",
        workers=stack["workers"],
    )


def _lines(client: openai.OpenAI, file_id: str | None) -> dict[str, dict[str, Any]]:
    if file_id is None:
        return {}
    lines = [json.loads(line) for line in client.files.content(file_id).text.splitlines()]
    return {line["custom_id"]: line for line in lines}


def test_a_batch_of_chats_answers_each_line_as_the_endpoint_would(stack: dict[str, Any]) -> None:
    _running(stack)
    client = sdk(stack)
    lines = [_chat(f"q{i}", f"Question {i} about the archive", temperature=0, seed=i) for i in range(5)]
    lines.append(_chat("three", "Give three answers", n=3, temperature=1.0, seed=3))
    lines.append(_chat("unknown-model", "hello") | {"body": {**_chat("x", "hi")["body"], "model": "no-such-model"}})
    batch = client.batches.create(
        input_file_id=_upload(client, lines), endpoint=CHAT, completion_window="24h", metadata={"run": "sdk"}
    )
    assert batch.status == "validating" and batch.request_counts is not None and batch.request_counts.total == 7
    done = _finished(client, batch.id, stack)
    assert done.status == "completed", done
    assert (done.request_counts.completed, done.request_counts.failed) == (6, 1)
    assert done.metadata == {"run": "sdk"} and done.in_progress_at and done.finalizing_at and done.completed_at
    output, errors = _lines(client, done.output_file_id), _lines(client, done.error_file_id)
    assert set(output) == {"q0", "q1", "q2", "q3", "q4", "three"} and set(errors) == {"unknown-model"}
    for custom_id, line in output.items():
        assert line["response"]["status_code"] == 200 and line["error"] is None and line["id"].startswith("batch_req_")
        reply = openai.types.chat.ChatCompletion.model_validate(line["response"]["body"])
        assert reply.usage is not None and reply.usage.completion_tokens > 0
        assert len(reply.choices) == (3 if custom_id == "three" else 1)
    same = client.chat.completions.create(**{**lines[2]["body"]})
    assert output["q2"]["response"]["body"]["choices"][0]["message"]["content"] == same.choices[0].message.content
    failed = errors["unknown-model"]["response"]
    assert failed["status_code"] == 404 and failed["body"]["error"]["param"] == "model"
    assert client.files.retrieve(done.output_file_id).purpose == "batch_output"
    assert batch.id in {b.id for b in client.batches.list()}
    with pytest.raises(openai.NotFoundError):
        sdk(stack, "key-bob").batches.retrieve(batch.id)
    assert batch.id not in {b.id for b in sdk(stack, "key-bob").batches.list()}


def test_embeddings_and_completions_batches(stack: dict[str, Any]) -> None:
    _running(stack)
    client = sdk(stack)
    embed = [_line(f"e{i}", {"model": BASE, "input": [f"text {i}", "more"]}, "/v1/embeddings") for i in range(3)]
    batch = client.batches.create(
        input_file_id=_upload(client, embed), endpoint="/v1/embeddings", completion_window="24h"
    )
    done = _finished(client, batch.id, stack)
    vectors = _lines(client, done.output_file_id)
    assert done.status == "completed" and len(vectors) == 3
    assert len(vectors["e0"]["response"]["body"]["data"]) == 2
    text = [_line("c0", {"model": BASE, "prompt": ["a", "b"], "max_tokens": 3}, "/v1/completions")]
    batch = client.batches.create(
        input_file_id=_upload(client, text), endpoint="/v1/completions", completion_window="24h"
    )
    done = _finished(client, batch.id, stack)
    body = _lines(client, done.output_file_id)["c0"]["response"]["body"]
    assert body["object"] == "text_completion" and len(body["choices"]) == 2


@pytest.mark.parametrize(
    ("lines", "text"),
    [
        ([_chat("a", "x"), _chat("a", "y")], "line 2: custom_id 'a' is already used on line 1"),
        ([_chat("a", "x"), _line("b", {"model": BASE, "input": "x"}, "/v1/embeddings")], "line 2: url"),
        ([_chat("a", "x", stream=True)], "line 1: body.stream"),
        ([_chat("a", "x", max_tokens="many")], "line 1: body.max_tokens"),
        ([_chat("a", "x", messages="hi")], "line 1: body.messages"),
        ([_chat("a", "x") | {"method": "GET"}], "line 1: method"),
        ([_chat("a", "x") | {"extra": 1}], "line 1: unknown field 'extra'"),
        ([{"custom_id": "", "method": "POST", "url": CHAT, "body": {}}], "line 1: custom_id"),
    ],
)
def test_bad_input_files_are_refused_naming_the_line(
    stack: dict[str, Any], lines: list[dict[str, Any]], text: str
) -> None:
    client = sdk(stack)
    with pytest.raises(openai.BadRequestError) as caught:
        client.batches.create(input_file_id=_upload(client, lines), endpoint=CHAT, completion_window="24h")
    error = caught.value.body
    assert isinstance(error, dict) and error["param"] == "input_file_id" and text in error["message"], error


def test_bad_create_bodies_name_the_field(stack: dict[str, Any]) -> None:
    client = sdk(stack)
    tuned = _upload(client, [{"text": "a", "auth_weight": 0.1, "prov_entropy": 2.0}], purpose="fine-tune")
    for body, param in (
        ({"input_file_id": tuned, "endpoint": CHAT, "completion_window": "24h"}, "input_file_id"),
        ({"input_file_id": "file-nope", "endpoint": CHAT, "completion_window": "24h"}, "input_file_id"),
        ({"input_file_id": tuned, "endpoint": "/v1/responses", "completion_window": "24h"}, "endpoint"),
        ({"input_file_id": tuned, "endpoint": CHAT, "completion_window": "1h"}, "completion_window"),
        ({"input_file_id": tuned, "endpoint": CHAT, "completion_window": "24h", "priority": 1}, "priority"),
    ):
        answer = httpx.post(f"{stack['url']}/batches", headers={"Authorization": "Bearer key-alice"}, json=body)
        assert answer.status_code == 400 and answer.json()["error"]["param"] == param, answer.text


def test_a_killed_worker_resumes_without_running_finished_requests_again(stack: dict[str, Any]) -> None:
    _running(stack)
    workers = stack["workers"]
    client = sdk(stack)
    lines = [_chat(f"r{i}", f"Request {i}", max_tokens=24, temperature=0) for i in range(40)]
    batch = client.batches.create(input_file_id=_upload(client, lines), endpoint=CHAT, completion_window="24h")
    results = BatchResults(stack["redis"], batch.id)
    wait_for(lambda: len(results.finished()) >= 6, 120, "the first answers", workers=workers, poll_s=0.02)
    workers.kill(next(p for p in workers.procs if p.poll() is None))
    before = {custom_id: line["id"] for custom_id, (_, line) in results.all().items()}
    assert 6 <= len(before) < 40, "the batch finished before its worker could be killed"
    assert client.batches.retrieve(batch.id).status == "in_progress"
    workers.start()
    done = _finished(client, batch.id, stack, timeout_s=180)
    assert done.status == "completed" and done.request_counts.completed == 40
    output = _lines(client, done.output_file_id)
    assert set(output) == {f"r{i}" for i in range(40)}
    assert all(output[custom_id]["id"] == line_id for custom_id, line_id in before.items()), "answered twice"
    assert not stack["redis"].exists(results.key)


def test_cancel_keeps_what_was_answered(stack: dict[str, Any]) -> None:
    _running(stack)
    client = sdk(stack)
    lines = [_chat(f"c{i}", f"Request {i}", max_tokens=24) for i in range(200)]
    batch = client.batches.create(input_file_id=_upload(client, lines), endpoint=CHAT, completion_window="24h")
    results = BatchResults(stack["redis"], batch.id)
    wait_for(lambda: len(results.finished()) >= 2, 120, "the first answers", workers=stack["workers"], poll_s=0.02)
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at
    done = _finished(client, batch.id, stack)
    assert done.status == "cancelled" and done.cancelled_at
    output, errors = _lines(client, done.output_file_id), _lines(client, done.error_file_id)
    assert len(output) + len(errors) == 200 and 2 <= len(output) < 200
    assert {e["error"]["code"] for e in errors.values()} == {"batch_cancelled"}
    assert done.request_counts.completed == len(output) and done.request_counts.failed == len(errors)
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)
