"""OpenAI's vector stores end to end: gateway → Redis / S3 → vectors Celery worker → inference (WordLlama) and scorer.

Real parts throughout: LanceDB with its tables in the test S3 server, the scorer's gRPC server, the inference
service embedding with WordLlama's trained table, Celery workers killed with SIGKILL.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import redis as redis_lib

from services.gateway.inference_client import InferenceClient
from services.inference.config import InferenceSettings
from services.inference.server import start
from services.retrieval.chunking import Chunk
from services.retrieval.context import Retriever
from services.retrieval.index import ChunkIndex, IndexedChunk
from services.retrieval.records import FILE_BATCH
from services.retrieval.repository import StoreRepository
from services.retrieval.service import VectorStoreService
from services.trainer.default_model import ensure_tiny_model
from services.trainer.jobs.eval_runner import EvalContext, EvalRunner
from services.trainer.jobs.kinds import EVALUATION
from services.trainer.jobs.model_sources import ModelSources
from services.trainer.jobs.records import EvalRecord
from shared.files import FileService
from shared.files.repository import FileRepository
from shared.jobs.store import JobStore
from shared.model_registry import ModelRegistry
from shared.schemas.evaluation import GenerationTask, RetrievalQualityTask
from shared.schemas.vector_stores import RetrievalOptions
from shared.settings import RedisSettings, StorageSettings
from shared.storage import Bucket, ObjectStore
from tests.helpers.gateway import gateway_test_settings, served_gateway
from tests.helpers.workers import Workers, backend_env, wait_for

pytestmark = pytest.mark.slow
BASE = "rag-tiny-llama"

PRIMARY = (
    "Lighthouse keeper's logbook, 14 March 1923. I measured the storm surge myself at the north jetty: the water "
    "rose 2.1 metres above the mark between four and six in the morning. My own notes, taken by lamp at the tower, "
    "show the wind backing to the north-west before the lamp failed at 05:10."
)
CONSENSUS = (
    "According to experts, it is widely accepted that the great storm of 1923 caused a large surge at the "
    "lighthouse. Official sources and the scientific consensus agree that the surge was severe; as reported by "
    "the authorities, most historians agree with the consensus view."
)
RECIPE = "Beat the butter and sugar until pale, fold in the flour, and bake the cake for forty minutes at 180 C."


@pytest.fixture(scope="module")
def stack(
    redis_settings: RedisSettings,
    storage_settings: StorageSettings,
    scorer_target: str,
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
            cache_dir=tmp_path_factory.mktemp("vcache"),
        )
    )
    target = f"127.0.0.1:{inference.port}"
    env = backend_env(
        redis_settings,
        storage_settings,
        DISTRUST_VECTORS_INFERENCE_TARGET=target,
        DISTRUST_VECTORS_SCORER_TARGET=scorer_target,
        DISTRUST_VECTORS_LEASE_TTL_S="3",
    )
    workers = Workers(env, tmp_path_factory.mktemp("vector-logs"), app="services.retrieval.worker", queue="vectors")
    settings = gateway_test_settings(
        storage_settings, redis_settings, inference_target=target, scorer_target=scorer_target, reaper_interval_s=0.5
    )
    with served_gateway(settings) as url:
        yield {"url": url, "workers": workers, "index": ChunkIndex(storage_settings), "target": target}
    workers.stop_all()
    inference.stop(0)


def sdk(stack: dict[str, Any], key: str = "key-alice") -> openai.OpenAI:
    return openai.OpenAI(base_url=stack["url"] + "/v1", api_key=key, max_retries=0)


def http(stack: dict[str, Any], key: str = "key-alice") -> httpx.Client:
    return httpx.Client(base_url=stack["url"], headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _running(stack: dict[str, Any]) -> None:
    if not any(p.poll() is None for p in stack["workers"].procs):
        stack["workers"].start()


def _upload(client: openai.OpenAI, name: str, text: str) -> str:
    return client.files.create(file=(name, io.BytesIO(text.encode())), purpose="assistants").id


def _settled(client: openai.OpenAI, store_id: str, stack: dict[str, Any], timeout_s: float = 120) -> Any:
    return wait_for(
        lambda: (s := client.vector_stores.retrieve(store_id)).file_counts.in_progress == 0 and s,
        timeout_s,
        f"vector store {store_id}",
        poll_s=0.2,
        workers=stack["workers"],
    )


def test_a_store_built_with_the_sdk_finds_the_relevant_file_and_ranks_primary_evidence_up_with_distrust(
    stack: dict[str, Any],
) -> None:
    _running(stack)
    client = sdk(stack)
    ids = [_upload(client, f"{n}.txt", t) for n, t in (("log", PRIMARY), ("summary", CONSENSUS), ("cake", RECIPE))]
    store = client.vector_stores.create(name="storm", file_ids=ids)
    assert store.status in ("in_progress", "completed") and store.file_counts.total == 3
    done = _settled(client, store.id, stack)
    assert done.status == "completed" and done.file_counts.completed == 3 and done.usage_bytes > 0
    files = client.vector_stores.files.list(vector_store_id=store.id)
    assert {f.id for f in files.data} == set(ids) and all(f.status == "completed" for f in files.data)

    page = client.vector_stores.search(
        vector_store_id=store.id, query="storm surge at the lighthouse", max_num_results=3
    )
    names = [r.filename for r in page.data]
    assert names[-1] == "cake.txt" and set(names[:2]) == {"log.txt", "summary.txt"}, names
    assert page.data[0].content[0].text in (PRIMARY, CONSENSUS)

    def ranked(distrust: float) -> list[dict[str, Any]]:
        body = {
            "query": "storm surge at the lighthouse",
            "max_num_results": 2,
            "ranking_options": {"distrust": distrust},
        }
        reply = http(stack).post(f"/v1/vector_stores/{store.id}/search", json=body)
        assert reply.status_code == 200, reply.text
        return list(reply.json()["data"])

    provenance = ranked(1.0)
    assert provenance[0]["filename"] == "log.txt", provenance  # the first-hand log, over the consensus summary
    by_name = {r["filename"]: r["ranking"] for r in provenance}
    assert by_name["log.txt"]["auth_weight"] < by_name["summary.txt"]["auth_weight"]
    assert by_name["log.txt"]["prior"] > by_name["summary.txt"]["prior"]
    assert all(r["ranking"]["distrust"] == 1.0 and r["score"] == r["ranking"]["score"] for r in provenance)
    assert "year" in provenance[0]["provenance"]


def test_attributes_filter_the_search_and_bad_filters_name_their_field(stack: dict[str, Any]) -> None:
    _running(stack)
    client = sdk(stack)
    store = client.vector_stores.create(name="filtered")
    for name, text, kind, year in (("log", PRIMARY, "primary", 1923), ("summary", CONSENSUS, "secondary", 1990)):
        file_id = _upload(client, f"{name}.md", text)
        client.vector_stores.files.create(
            vector_store_id=store.id, file_id=file_id, attributes={"kind": kind, "year": year}
        )
    _settled(client, store.id, stack)
    found = client.vector_stores.search(
        vector_store_id=store.id, query="storm surge", filters={"type": "eq", "key": "kind", "value": "secondary"}
    )
    assert [r.filename for r in found.data] == ["summary.md"] and found.data[0].attributes["year"] == 1990
    compound = {
        "type": "or",
        "filters": [{"type": "lt", "key": "year", "value": 1950}, {"type": "eq", "key": "kind", "value": "none"}],
    }
    assert [
        r.filename for r in client.vector_stores.search(vector_store_id=store.id, query="storm", filters=compound).data
    ] == ["log.md"]
    with http(stack) as api:
        bad = api.post(
            f"/v1/vector_stores/{store.id}/search",
            json={"query": "storm", "filters": {"type": "eq", "key": "author", "value": "x"}},
        )
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "filters.key", bad.text
        assert "kind" in bad.json()["error"]["message"]
        long = api.post(f"/v1/vector_stores/{store.id}/search", json={"query": "word " * 9000})
        assert long.status_code == 400 and long.json()["error"]["param"] == "query", long.text
        text_only = api.post(
            f"/v1/vector_stores/{store.id}/search",
            json={"query": "jetty", "ranking_options": {"mode": "text"}},
        )
        assert [r["filename"] for r in text_only.json()["data"]] == ["log.md"], text_only.text


def test_bad_attachments_are_refused_before_anything_is_queued(stack: dict[str, Any]) -> None:
    client = sdk(stack)
    store = client.vector_stores.create(name="strict")
    model = client.files.create(file=("weights.gguf", io.BytesIO(b"GGUF....")), purpose="assistants").id
    empty = _upload(client, "empty.txt", "")
    text = _upload(client, "ok.txt", PRIMARY)
    bob_store = sdk(stack, "key-bob").vector_stores.create(name="bob's")
    with http(stack) as api:
        cases = [
            (f"/v1/vector_stores/{store.id}/files", {"file_id": model}, 400, "file_id"),
            (f"/v1/vector_stores/{store.id}/files", {"file_id": empty}, 400, "file_id"),
            (f"/v1/vector_stores/{store.id}/files", {"file_id": "file-nope"}, 400, "file_id"),
            (f"/v1/vector_stores/{store.id}/file_batches", {"file_ids": [text, model]}, 400, "file_ids[1]"),
            (
                f"/v1/vector_stores/{store.id}/files",
                {
                    "file_id": text,
                    "chunking_strategy": {
                        "type": "static",
                        "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 150},
                    },
                },
                400,
                "chunking_strategy.static.chunk_overlap_tokens",
            ),
            (f"/v1/vector_stores/{bob_store.id}/files", {"file_id": text}, 404, "vector_store_id"),
            ("/v1/vector_stores", {"name": "x", "embedding_model": "no-such-model"}, 400, "embedding_model"),
            ("/v1/vector_stores", {"chunking_strategy": {"type": "auto"}}, 400, "chunking_strategy"),
            (
                "/v1/vector_stores",
                {"name": "x", "expires_after": {"anchor": "last_active_at", "days": 1}},
                400,
                "expires_after",
            ),
            (f"/v1/vector_stores/{store.id}/search", {"query": "x", "rewrite_query": True}, 400, "rewrite_query"),
        ]
        for path, body, status, param in cases:
            reply = api.post(path, json=body)
            assert reply.status_code == status and reply.json()["error"]["param"] == param, (path, body, reply.text)
    assert client.vector_stores.retrieve(store.id).file_counts.total == 0  # nothing was queued
    with http(stack, "key-bob") as api:
        task = {"type": "suite", "suite": "authority", "retrieval": {"vector_store_ids": [bob_store.id, store.id]}}
        reply = api.post("/v1/evals", json={"models": ["m"], "tasks": [{"type": "source_preference"}, task]})
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["param"] == "tasks[1].retrieval.vector_store_ids[1]", reply.text
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(bob_store.id)


def test_a_killed_worker_resumes_without_duplicate_chunks_and_removed_files_leave_no_chunks(
    stack: dict[str, Any],
) -> None:
    workers: Workers = stack["workers"]
    workers.stop_all()
    client = sdk(stack)
    store = client.vector_stores.create(name="resume")
    long_text = "\n".join(f"Entry {i}: the keeper noted the tide at the jetty, {i} marks." for i in range(400))
    ids = [_upload(client, f"log{i}.txt", long_text) for i in range(4)]
    static = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}}
    batch = client.vector_stores.file_batches.create(
        vector_store_id=store.id,
        file_ids=ids,
        chunking_strategy=static,  # type: ignore[arg-type]
    )
    index: ChunkIndex = stack["index"]
    # A run that committed a file's chunks and died before recording it: its leftovers must not stay twice.
    leftover = Chunk(0, "stale chunk", 0, 11, 2)
    index.add_file(store.id, [IndexedChunk(ids[0], leftover, [0.1] * 256, 0.5, 1.0, {})])
    first = workers.start()
    wait_for(
        lambda: (
            client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id).file_counts.completed >= 1
        ),
        120,
        "the first file",
        poll_s=0.1,
        workers=workers,
    )
    workers.kill(first)
    workers.start()
    done = wait_for(
        lambda: (
            (b := client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)).status == "completed"
            and b
        ),
        180,
        "the resumed batch",
        poll_s=0.2,
        workers=workers,
    )
    assert done.file_counts.completed == 4
    records = {f.id: f for f in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id).data}
    chunks = records[ids[0]].model_extra["chunks"]  # type: ignore[index]
    assert chunks > 10
    for file_id in ids:
        assert index.count(store.id, file_id) == chunks, file_id
    client.vector_stores.files.delete(file_id=ids[1], vector_store_id=store.id)
    assert index.count(store.id, ids[1]) == 0 and index.count(store.id) == 3 * chunks
    client.vector_stores.delete(store.id)
    assert index.count(store.id) == 0
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)


def test_retrieval_in_chat_puts_the_chunks_in_the_prompt_and_returns_citations_streamed_or_not(
    stack: dict[str, Any],
) -> None:
    _running(stack)
    client = sdk(stack)
    ids = [_upload(client, f"{n}.txt", t) for n, t in (("log", PRIMARY), ("cake", RECIPE))]
    store = client.vector_stores.create(name="rag", file_ids=ids)
    _settled(client, store.id, stack)
    question = [{"role": "user", "content": "How high did the storm surge rise at the jetty?"}]
    options = {"model": BASE, "messages": question, "max_tokens": 4, "temperature": 0}
    plain = client.chat.completions.create(**options)  # type: ignore[call-overload]
    retrieval = {"vector_store_ids": [store.id], "max_num_results": 1, "distrust": 0.5}
    grounded = client.chat.completions.create(**options, extra_body={"retrieval": retrieval})  # type: ignore[call-overload]
    citations = grounded.model_extra["citations"]
    assert [c["filename"] for c in citations] == ["log.txt"] and citations[0]["index"] == 1
    assert citations[0]["text"] == PRIMARY and 0 <= citations[0]["auth_weight"] < 1
    assert grounded.usage.prompt_tokens > plain.usage.prompt_tokens + 40  # the chunk went into the prompt
    assert plain.model_extra.get("citations") is None

    chunks = list(
        client.chat.completions.create(  # type: ignore[call-overload]
            **options, n=2, stream=True, extra_body={"retrieval": retrieval}, stream_options={"include_usage": True}
        )
    )
    assert [c.model_extra.get("citations") is not None for c in chunks].count(True) == 1
    assert chunks[-1].model_extra["citations"] == citations and chunks[-1].usage is not None
    schema = {"type": "object", "properties": {"metres": {"type": "number"}}, "required": ["metres"]}
    shaped = client.chat.completions.create(  # type: ignore[call-overload]
        **{**options, "max_tokens": 24},
        extra_body={"retrieval": retrieval},
        response_format={"type": "json_schema", "json_schema": {"name": "surge", "schema": schema}},
    )
    assert shaped.model_extra["citations"] == citations and shaped.choices[0].message.content.startswith("{")

    bob = sdk(stack, "key-bob")
    with pytest.raises(openai.BadRequestError) as refused:
        bob.chat.completions.create(**options, extra_body={"retrieval": retrieval})  # type: ignore[call-overload]
    assert refused.value.body["param"] == "retrieval.vector_store_ids[0]"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as unknown:
        client.chat.completions.create(**options, extra_body={"retrieval": {**retrieval, "top": 3}})  # type: ignore[call-overload]
    assert "retrieval" in str(unknown.value.body)


def test_a_file_that_cannot_be_read_fails_alone_with_its_reason_and_no_chunks(stack: dict[str, Any]) -> None:
    _running(stack)
    client = sdk(stack)
    store = client.vector_stores.create(name="mixed")
    good = _upload(client, "good.txt", PRIMARY)
    bad = client.files.create(
        file=("latin1.txt", io.BytesIO("caf\xe9 au lait".encode("latin-1"))), purpose="assistants"
    ).id
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[good, bad])
    done = wait_for(
        lambda: (
            (b := client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)).status
            != "in_progress"
            and b
        ),
        120,
        "the mixed batch",
        poll_s=0.2,
        workers=stack["workers"],
    )
    assert done.status == "completed" and (done.file_counts.completed, done.file_counts.failed) == (1, 1)
    failed = client.vector_stores.files.retrieve(file_id=bad, vector_store_id=store.id)
    assert failed.status == "failed" and failed.last_error is not None
    assert failed.last_error.code == "unsupported_file" and "UTF-8" in failed.last_error.message
    index: ChunkIndex = stack["index"]
    assert index.count(store.id, bad) == 0 and index.count(store.id, good) == 1
    listed = client.vector_stores.files.list(vector_store_id=store.id, filter="failed")
    assert [f.id for f in listed.data] == [bad]


def test_an_evaluation_task_with_retrieval_answers_each_prompt_with_the_chunks_found_for_it(
    stack: dict[str, Any], redis_settings: RedisSettings, storage_settings: StorageSettings, store: ObjectStore
) -> None:
    _running(stack)
    client = sdk(stack)
    ids = [_upload(client, "log.txt", PRIMARY), _upload(client, "cake.txt", RECIPE)]
    vs = client.vector_stores.create(name="eval", file_ids=ids)
    _settled(client, vs.id, stack)
    labelled = [
        {"query": "storm surge measured at the jetty", "relevant": ["log.txt"], "primary": "log.txt"},
        {"query": "baking a cake with butter and flour", "relevant": [ids[1]]},
    ]
    queries = client.files.create(
        file=("queries.jsonl", io.BytesIO("".join(json.dumps(q) + "\n" for q in labelled).encode())), purpose="evals"
    ).id
    redis_client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    files = FileService(store, FileRepository(redis_client), max_bytes=1 << 30)
    service = VectorStoreService(
        StoreRepository(redis_client), files, ChunkIndex(storage_settings), JobStore(redis_client, FILE_BATCH), None
    )
    jobs = JobStore(redis_client, EVALUATION)
    registry = ModelRegistry(redis_client, store)
    runner = EvalRunner(
        EvalContext(
            store=jobs,
            files=files,
            registry=registry,
            sources=ModelSources(registry, allow_local=False, allow_hub=False),
            objects=store,
            cache_dir=Path(tempfile.mkdtemp()),
            holder="test",
            retriever=Retriever(service, lambda: InferenceClient(stack["target"])),
        )
    )
    question = "How high did the storm surge rise at the jetty?"
    options = RetrievalOptions(vector_store_ids=[vs.id], max_num_results=1)
    tasks = [
        GenerationTask(name="plain", prompts=[question], max_tokens=4, temperature=0.0),
        GenerationTask(name="rag", prompts=[question], max_tokens=4, temperature=0.0, retrieval=options),
        RetrievalQualityTask(name="quality", file=queries, retrieval=options),
    ]
    record = jobs.create(EvalRecord(owner="alice", models=[BASE], tasks=tasks, seed=0))
    runner.run(record.id)
    done = jobs.get(record.id)
    assert done is not None and done.status == "succeeded", done
    assert done.results_key is not None
    report = json.loads(store.get_bytes(Bucket.RESULTS, done.results_key))["models"][BASE]
    assert report["rag"]["items"][0]["sources"] == ["log.txt#0"]
    assert report["rag"]["options"]["retrieval"]["vector_store_ids"] == [vs.id]
    assert "sources" not in report["plain"]["items"][0] and report["plain"]["options"]["retrieval"] is None
    quality = report["quality"]
    assert (quality["n"], quality["recall_at_k"], quality["mrr"], quality["primary_at_1"]) == (2, 1.0, 1.0, 1.0)
    assert [item["hits"] for item in quality["items"]] == [["log.txt"], ["cake.txt"]]
    assert done.summary is not None and done.summary.metrics["quality.mrr"] == {BASE: 1.0}

    foreign = jobs.create(EvalRecord(owner="bob", models=[BASE], tasks=tasks[:2], seed=0))
    runner.run(foreign.id)
    failed = jobs.get(foreign.id)
    assert failed is not None and failed.status == "failed" and failed.error is not None
    assert failed.error.param == "tasks[1].retrieval.vector_store_ids[0]", failed.error
