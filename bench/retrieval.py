"""Retrieval quality on a labelled query file: recall@k, MRR and primary@1 per embedding model, mode and distrust.

    python bench/retrieval.py [--k 5] [--topics 40] [--out DIR]

Starts the local stack (`distrust up` on free ports, a temporary data folder, the default real model
SmolLM2-135M-Instruct) and builds one corpus from `bench/source_items.TOPICS`: per topic (an event in history), a
first-hand record made at the time and two later accounts of the same event that lean on official consensus, one
file each. The labelled query file (`queries.jsonl` in `--out`) asks, per topic, for what happened, in other
words than the documents use; its relevant documents are that topic's three, its primary one the first-hand record.

Two vector stores hold the same files: one embedded by `wordllama-l2-supercat-256` (the default), one by SmolLM2's
pooled hidden states. Each query is searched in `vector`, `text` (BM25, the peer every search engine has) and
`hybrid` mode, with `ranking_options.distrust` 0 and 0.5. Printed per row: recall@k (the share of a query's
relevant documents in its top k), MRR (1 / rank of the first relevant one), and primary@1 (how often the top
result is the topic's first-hand record), and how often the scorer's prior itself puts the first-hand record
above both later accounts (the most the provenance blend can do for primary@1).

Then, at scale (`--chunks`, default 100 000): that many chunks (sentences on the same topics, numbered so no two
are equal) embedded by WordLlama in this process and added to one store in files of 10 000 chunks, in LanceDB on
the stack's S3 server, as the vectors worker adds them (indexes built again when half the rows are new); printed:
chunks/s added, the p50 / p99 latency of `--searches` vector, BM25 and hybrid searches (k = 10) while rows are still
outside the indexes, the seconds the end of a batch takes to bring them up to date, the same latencies after, and
recall@10 of the ANN index against exact search (the same queries with the index bypassed). Last, a chat's latency on SmolLM2 (16 tokens, temperature 0, the
median of 8) with `retrieval` from the quality store against without. The last line is `ratio=<hybrid WordLlama MRR ÷ BM25 MRR>`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.source_items import LATER_ACCOUNTS, TOPICS  # noqa: E402
from bench.stack import OurStack, say  # noqa: E402
from services.trainer.models.names import DEFAULT_MODEL_NAME  # noqa: E402

WORD_MODEL = "wordllama-l2-supercat-256"


def corpus(topics: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The documents (file name → text) and the labelled queries."""
    docs: dict[str, str] = {}
    queries = []
    for t, (event, want, primary) in enumerate(TOPICS[:topics]):
        first = f"t{t:02d}-primary.txt"
        docs[first] = (
            f"From {primary}. Written on the day itself, when {event}. I set down here {want}, as I saw it with my "
            f"own eyes and measured it by my own hand; these notes are mine and were made on the spot."
        )
        names = [first]
        for j, account in enumerate((LATER_ACCOUNTS[t % 6], LATER_ACCOUNTS[(t + 3) % 6])):
            name = f"t{t:02d}-later{j}.txt"
            docs[name] = (
                f"From {account}. It is widely accepted that {event}. According to experts and official sources, "
                f"the consensus view of {want} is settled; most historians agree, as reported by the authorities."
            )
            names.append(name)
        queries.append({"query": f"Evidence about {want}, from the time {event}", "relevant": names, "primary": first})
    return docs, queries


def ingest(client: httpx.Client, docs: dict[str, str], model: str) -> tuple[str, float]:
    """A store of every document embedded by `model`; its id and the seconds the ingestion took."""
    ids = [
        client.post("/v1/files", data={"purpose": "assistants"}, files={"file": (n, t.encode())})
        .raise_for_status()
        .json()["id"]
        for n, t in docs.items()
    ]
    started = time.perf_counter()
    store = client.post("/v1/vector_stores", json={"name": model, "file_ids": ids, "embedding_model": model})
    store_id: str = store.raise_for_status().json()["id"]
    while (counts := client.get(f"/v1/vector_stores/{store_id}").json()["file_counts"])["in_progress"]:
        time.sleep(1.0)
    if counts["completed"] != len(ids):
        raise SystemExit(f"{model}: only {counts['completed']} of {len(ids)} files were indexed: {counts}")
    return store_id, time.perf_counter() - started


def scorer_agreement(client: httpx.Client, docs: dict[str, str], queries: list[dict[str, Any]]) -> int:
    """In how many topics the distrust prior c = ln(1 − w + 1e-8) + H of the primary document beats both others."""
    names = list(docs)
    body = {"documents": [{"text": docs[n]} for n in names]}
    results = client.post("/v1/score", json=body).raise_for_status().json()["data"]
    prior = {n: math.log(1 - r["auth_weight"] + 1e-8) + r["prov_entropy"] for n, r in zip(names, results, strict=True)}
    return sum(prior[q["primary"]] > max(prior[r] for r in q["relevant"] if r != q["primary"]) for q in queries)


def measure(
    client: httpx.Client, store_id: str, queries: list[dict[str, Any]], mode: str, distrust: float, k: int
) -> dict[str, float]:
    recall = mrr = primary = 0.0
    for q in queries:
        body = {"query": q["query"], "max_num_results": k, "ranking_options": {"mode": mode, "distrust": distrust}}
        found = [r["filename"] for r in client.post(f"/v1/vector_stores/{store_id}/search", json=body).json()["data"]]
        recall += len(set(found) & set(q["relevant"])) / len(q["relevant"])
        mrr += next((1.0 / (i + 1) for i, name in enumerate(found) if name in q["relevant"]), 0.0)
        primary += float(bool(found) and found[0] == q["primary"])
    n = len(queries)
    return {"recall": recall / n, "mrr": mrr / n, "primary": primary / n}


def scale_corpus(n: int, seed: int = 0) -> list[str]:
    """`n` distinct sentences on the topics, in the documents' words."""
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        event, want, primary = TOPICS[rng.randrange(len(TOPICS))]
        source = primary if rng.random() < 0.5 else LATER_ACCOUNTS[rng.randrange(len(LATER_ACCOUNTS))]
        texts.append(f"Note {i}: {source} records {want} when {event}; entry {rng.randrange(10**6)}.")
    return texts


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return ordered[len(ordered) // 2] * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def at_scale(stack: OurStack, chunks: int, searches: int) -> None:
    """Chunks/s into the index, search latency with the ANN index, and its recall@10 against exact search."""
    from services.inference.word_embeddings import WORDLLAMA, WordEmbedder
    from services.retrieval.chunking import Chunk
    from services.retrieval.index import ChunkIndex, IndexedChunk
    from services.retrieval.repository import RedisIndexVersions
    from shared.redis_store import connect

    files = WORDLLAMA.files()
    if files is None:
        raise SystemExit("the wordllama package is not installed (make install)")
    embedder = WordEmbedder(WORDLLAMA, *files)
    texts = scale_corpus(chunks)
    started = time.perf_counter()
    vectors = [v for i in range(0, chunks, 2048) for v in embedder.embed(texts[i : i + 2048]).vectors]
    embedded = time.perf_counter() - started
    storage, redis_settings = stack.settings()
    versions = RedisIndexVersions(connect(redis_settings))  # as the stack's services keep their tables
    index = ChunkIndex(storage, versions=versions)  # as the vectors worker: indexes built as files arrive
    store = "vs_scale"
    per_file = 10_000
    started = time.perf_counter()
    for f in range(0, chunks, per_file):
        rows = [
            IndexedChunk(
                f"file-{f // per_file}", Chunk(i - f, texts[i], 0, len(texts[i]), 20), vectors[i], 0.5, 5.0, {}
            )
            for i in range(f, min(f + per_file, chunks))
        ]
        index.add_file(store, rows)
    added = time.perf_counter() - started
    say(
        f"{chunks} chunks: embedded in {embedded:.1f} s ({chunks / embedded:.0f}/s), indexed (BM25 + IVF-SQ) in "
        f"{added:.1f} s ({chunks / added:.0f} chunks/s)"
    )
    queries = scale_corpus(searches, seed=1)
    query_vectors = embedder.embed(queries).vectors
    embedder.close()

    def latencies(state: str) -> None:
        started = time.perf_counter()
        index.search(store, vector=query_vectors[0], text=queries[0], limit=10, mode="hybrid")  # tables opened
        while (copied := index.copied_bytes(store)) is None and time.perf_counter() - started < 300:
            time.sleep(0.1)  # as a host that has served this store for a few seconds
        say(
            f"result rows copied to this host in {time.perf_counter() - started:.1f} s ({copied / 2**20:.1f} MiB)"
            if copied is not None
            else "result rows not copied (over DISTRUST_STORAGE_LANCE_RESULT_ROWS_MB): searches read them from S3"
        )
        for mode in ("vector", "text", "hybrid"):
            seconds = []
            for text, vector in zip(queries, query_vectors, strict=True):
                t0 = time.perf_counter()
                index.search(store, vector=vector, text=text, limit=10, mode=mode)
                seconds.append(time.perf_counter() - t0)
            p50, p99 = percentiles(seconds)
            say(f"{state}: search ({mode}, k=10) at {chunks} chunks: p50 {p50:.1f} ms, p99 {p99:.1f} ms")

    latencies(f"while files arrive (rows outside the indexes: {index.unindexed_rows(store)})")
    started = time.perf_counter()
    index.catch_up(store)  # what the ingestion does when its batch ends
    say(f"indexes brought up to date in {time.perf_counter() - started:.1f} s (the end of a file batch)")
    latencies("after the batch (goal: vector p50 <= 20 ms)")
    recall = 0.0
    for vector in query_vectors:
        ann = {(h.file_id, h.index) for h in index.search(store, vector=vector, text=None, limit=10, mode="vector")}
        exact = index.search(store, vector=vector, text=None, limit=10, mode="vector", exact=True)
        recall += len(ann & {(h.file_id, h.index) for h in exact}) / 10
    say(f"recall@10 of the ANN index against exact search: {recall / len(query_vectors):.3f} (goal >= 0.95)")
    index.drop_store(store)


def chat_latency(client: httpx.Client, store_id: str, rounds: int = 8) -> None:
    """A chat's median seconds on the default model, with retrieval from `store_id` and without."""
    question = [{"role": "user", "content": "How high did the water rise when the river flooded the town?"}]
    body = {"model": DEFAULT_MODEL_NAME, "messages": question, "max_tokens": 16, "temperature": 0}
    retrieval = {"retrieval": {"vector_store_ids": [store_id], "max_num_results": 3}}
    client.post("/v1/chat/completions", json={**body, **retrieval}).raise_for_status()  # the model loaded
    medians = {}
    for label, extra in (("without", {}), ("with retrieval", retrieval)):
        seconds = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            client.post("/v1/chat/completions", json={**body, **extra}).raise_for_status()
            seconds.append(time.perf_counter() - t0)
        medians[label] = statistics.median(seconds)
    say(
        f"chat on {DEFAULT_MODEL_NAME}, 16 tokens: {medians['without']:.2f} s without, "
        f"{medians['with retrieval']:.2f} s with retrieval (3 chunks) (median of {rounds})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--topics", type=int, default=len(TOPICS))
    parser.add_argument("--out", type=Path, default=None, help="Where to write queries.jsonl (default: a temp dir)")
    parser.add_argument("--chunks", type=int, default=100_000, help="Chunks of the scale part (0 skips it)")
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--scale-only", action="store_true", help="Only the scale part (no quality, no chat)")
    args = parser.parse_args()
    docs, queries = corpus(args.topics)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        (out / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
        say(f"{len(docs)} documents, {len(queries)} labelled queries ({out / 'queries.jsonl'})")
        with OurStack(Path(tmp), default_model=DEFAULT_MODEL_NAME) as stack, stack.client() as client:
            if args.scale_only:
                at_scale(stack, args.chunks, args.searches)
                return
            agree = scorer_agreement(client, docs, queries)
            say(
                f"the scorer's prior ranks the first-hand record above both later accounts in {agree}/{len(queries)} topics"
            )
            stores = {}
            for model in (WORD_MODEL, DEFAULT_MODEL_NAME):
                stores[model], seconds = ingest(client, docs, model)
                say(f"ingested with {model}: {seconds:.1f} s ({len(docs) / seconds:.1f} files/s)")
            say(
                f"{'embedding model':<28} {'mode':<7} {'distrust':>8} {'recall@' + str(args.k):>9} {'MRR':>6} {'primary@1':>9}"
            )
            rows: dict[tuple[str, str, float], dict[str, float]] = {}
            for model, store_id in stores.items():
                for mode in ("vector", "hybrid", "text"):
                    if mode == "text" and model != WORD_MODEL:
                        continue  # BM25 does not use the embeddings
                    for distrust in (0.0, 0.5):
                        m = measure(client, store_id, queries, mode, distrust, args.k)
                        rows[(model, mode, distrust)] = m
                        label = "(BM25, no embeddings)" if mode == "text" else model
                        say(
                            f"{label:<28} {mode:<7} {distrust:>8.1f} {m['recall']:>9.3f} {m['mrr']:>6.3f} "
                            f"{m['primary']:>9.3f}"
                        )
            chat_latency(client, stores[WORD_MODEL])
            if args.chunks:
                at_scale(stack, args.chunks, args.searches)
    bm25 = rows[(WORD_MODEL, "text", 0.0)]["mrr"]
    say(f"ratio={rows[(WORD_MODEL, 'hybrid', 0.0)]['mrr'] / bm25 if bm25 else float('nan'):.3f}")


if __name__ == "__main__":
    main()
