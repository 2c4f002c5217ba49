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
above both later accounts (the most the provenance blend can do for primary@1). The last line is `ratio=<hybrid WordLlama MRR ÷ BM25 MRR>`.
"""

from __future__ import annotations

import argparse
import json
import math
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--topics", type=int, default=len(TOPICS))
    parser.add_argument("--out", type=Path, default=None, help="Where to write queries.jsonl (default: a temp dir)")
    args = parser.parse_args()
    docs, queries = corpus(args.topics)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        (out / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
        say(f"{len(docs)} documents, {len(queries)} labelled queries ({out / 'queries.jsonl'})")
        with OurStack(Path(tmp), default_model=DEFAULT_MODEL_NAME) as stack, stack.client() as client:
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
    bm25 = rows[(WORD_MODEL, "text", 0.0)]["mrr"]
    say(f"ratio={rows[(WORD_MODEL, 'hybrid', 0.0)]['mrr'] / bm25 if bm25 else float('nan'):.3f}")


if __name__ == "__main__":
    main()
