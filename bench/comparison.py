"""Seed 004's phase 5 on the real model, through the stack's HTTP API: v1 (SFT), v2 (DPO) and v2 + RAG side by side.

    python bench/comparison.py [--seed 0] [--sft-epochs 1] [--dpo-epochs 2] [--layers 16] [--suite-limit 8]

Starts the local stack on SmolLM2-135M-Instruct (the default model) and runs the roadmap with the `openai` SDK
(files, fine-tuning jobs, vector stores) and plain HTTP where OpenAI has no such API (pairs, evaluations):

1. The source-preference topics (bench/source_items.py) split by `--seed`: 70 % for training, 30 % held out.
2. **v1**: a supervised job (the distrust loss, default mode) on the training items, each answered by its
   primary-source candidate and weighted by the scorer's auth_weight and prov_entropy of that answer.
3. **Pairs**: every training item's candidates (one answer per option) through `POST /v1/datasets/preference_pairs`
   with the `provenance` rule (the scorer's auth_weight and prov_entropy of each answer).
4. **v2**: a DPO job (sigmoid, beta 0.1) on those pairs starting from v1's model (`model: ft:…`).
5. **Knowledge base**: a vector store (WordLlama embeddings) of every topic's first-hand record and two later
   accounts (bench/retrieval.py's corpus), with its labelled query file.
6. **One evaluation** over v2, v1 and the base: held-out source preference (`option` method) without and with
   retrieval (hybrid, k = 3, distrust 0.5), the `authority` suite without and with retrieval, and retrieval quality.

Printed: each step's time, then the evaluation's side-by-side table (metric × model; "+ RAG" rows are the tasks with
retrieval). The last line is `rag_effect=<v2 + RAG held-out accuracy − v2 accuracy>`.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.retrieval import WORD_MODEL, corpus  # noqa: E402
from bench.source_items import candidates, split_items  # noqa: E402
from bench.stack import OurStack, say, wait_for_status  # noqa: E402
from services.trainer.models.names import DEFAULT_MODEL_NAME  # noqa: E402

RETRIEVAL = {"max_num_results": 3, "distrust": 0.5, "mode": "hybrid"}


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def upload(client: Any, name: str, data: bytes, purpose: str) -> str:
    return str(client.files.create(file=(name, io.BytesIO(data)), purpose=purpose).id)


def scored_demonstrations(http: httpx.Client, train_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each training item answered by its primary-source candidate, with the scorer's weights of that answer."""
    records = []
    for item in train_items:
        asked = candidates(item)
        chosen = asked["candidates"][item["primary_index"]]
        records.append({"messages": [*asked["messages"], {"role": "assistant", "content": chosen}]})
    answers = [{"text": r["messages"][-1]["content"]} for r in records]
    scores = http.post("/v1/score", json={"documents": answers}).raise_for_status().json()["data"]
    for record, score in zip(records, scores, strict=True):
        record.update(auth_weight=score["auth_weight"], prov_entropy=score["prov_entropy"])
    return records


def train(client: Any, body: dict[str, Any], timeout_s: float) -> tuple[str, float]:
    """A fine-tuning job created with the SDK and followed to its end; its model's name and the seconds taken."""
    started = time.perf_counter()
    job = client.fine_tuning.jobs.create(
        **{k: body[k] for k in ("model", "training_file", "suffix", "seed")},
        method=body["method"],
        extra_body=body.get("extra", {}),
    )
    deadline = time.monotonic() + timeout_s
    while job.status not in ("succeeded", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise SystemExit(f"{job.id} did not finish within {timeout_s:.0f} s")
        time.sleep(2)
        job = client.fine_tuning.jobs.retrieve(job.id)
    if job.status != "succeeded" or job.fine_tuned_model is None:
        raise SystemExit(f"{job.id} {job.status}: {job.error}")
    return job.fine_tuned_model, time.perf_counter() - started


def build_pairs(http: httpx.Client, file_id: str) -> tuple[str, dict[str, Any]]:
    """The provenance rule's pairs from a candidates file: the train file's id and the job's report."""
    created = (
        http.post(
            "/v1/datasets/preference_pairs", json={"input_file_id": file_id, "rule": "provenance", "val_fraction": 0}
        )
        .raise_for_status()
        .json()
    )
    done = wait_for_status(http, f"/v1/datasets/jobs/{created['id']}", timeout_s=600)
    if done["status"] != "succeeded":
        raise SystemExit(f"pairs job {done['status']}: {done.get('error')}")
    return done["train_file"], done.get("report") or {}


def knowledge_store(client: Any) -> tuple[str, bytes, float]:
    """A vector store of every topic's documents; its id, the labelled query file and the seconds ingestion took."""
    docs, queries = corpus(topics=40)
    started = time.perf_counter()
    ids = [upload(client, name, text.encode(), "assistants") for name, text in docs.items()]
    store = client.vector_stores.create(name="knowledge", file_ids=ids, extra_body={"embedding_model": WORD_MODEL})
    while store.status == "in_progress":
        time.sleep(1)
        store = client.vector_stores.retrieve(store.id)
    if store.status != "completed" or store.file_counts.completed != len(ids):
        raise SystemExit(f"store {store.id}: {store.status}, {store.file_counts}")
    return store.id, jsonl(queries), time.perf_counter() - started


def evaluate(http: httpx.Client, models: list[str], tasks: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    created = (
        http.post("/v1/evals", json={"models": models, "include_base": True, "tasks": tasks, "seed": seed})
        .raise_for_status()
        .json()
    )

    def shown(body: dict[str, Any]) -> None:
        progress = body.get("progress") or {}
        sys.stderr.write(f"\revaluation: {progress.get('done', 0)}/{progress.get('total', 0)}")

    done = wait_for_status(http, f"/v1/evals/{created['id']}", timeout_s=3600, poll_s=5, on_poll=shown)
    sys.stderr.write("\n")
    if done["status"] != "succeeded":
        raise SystemExit(f"evaluation {done['status']}: {done.get('error')}")
    return done


def table(summary: dict[str, Any], labels: dict[str, str]) -> None:
    """The summary's metrics × models, with the models' short labels as columns."""
    models = summary["models"]
    say(f"{'metric':<40}" + "".join(f"{labels.get(m, m):>12}" for m in models))
    for metric, values in sorted(summary["metrics"].items()):
        cells = []
        for m in models:
            value = values.get(m)
            cells.append(f"{value:>12.3f}" if isinstance(value, float) else f"{value!s:>12}")
        say(f"{metric:<40}" + "".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sft-epochs", type=int, default=1)
    parser.add_argument("--dpo-epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--layers", type=int, default=16, help="LoRA on the top N blocks")
    parser.add_argument("--suite-limit", type=int, default=8, help="authority-suite prompts per model (0: no suite)")
    args = parser.parse_args()

    import openai

    items = split_items(args.seed)
    lora = {"lora": {"rank": 8, "alpha": 16.0, "layers": args.layers}}
    with (
        tempfile.TemporaryDirectory(prefix="bench-comparison-") as tmp,
        OurStack(Path(tmp), default_model=DEFAULT_MODEL_NAME) as stack,
        stack.client(timeout_s=600) as http,
    ):
        client = openai.OpenAI(base_url=stack.base_url, api_key=stack.api_key, max_retries=0, timeout=600)
        demonstrations = scored_demonstrations(http, items.train)
        sft_file = upload(client, "sft.jsonl", jsonl(demonstrations), "fine-tune")
        hyper = {"n_epochs": args.sft_epochs, "batch_size": args.batch_size, "max_seq_length": 256}
        v1, seconds = train(
            client,
            {
                "model": DEFAULT_MODEL_NAME,
                "training_file": sft_file,
                "suffix": "v1-sft",
                "seed": args.seed,
                "method": {"type": "supervised", "supervised": {"hyperparameters": hyper}},
                "extra": lora,
            },
            timeout_s=3600,
        )
        say(f"v1 (SFT on {len(demonstrations)} demonstrations, {args.sft_epochs} epoch): {v1} in {seconds:.0f} s")
        candidate_file = upload(client, "candidates.jsonl", jsonl([candidates(i) for i in items.train]), "raw")
        pairs_file, report = build_pairs(http, candidate_file)
        say(f"pairs by provenance: {report.get('pairs')} pairs, {report.get('ties')} ties dropped")
        dpo = {"n_epochs": args.dpo_epochs, "batch_size": args.batch_size, "beta": 0.1, "max_seq_length": 256}
        v2, seconds = train(
            client,
            {
                "model": v1,
                "training_file": pairs_file,
                "suffix": "v2-dpo",
                "seed": args.seed,
                "method": {"type": "dpo", "dpo": {"hyperparameters": dpo}},
                "extra": {"preference": {"loss": "sigmoid"}},
            },
            timeout_s=3600,
        )
        say(f"v2 (DPO from v1, {args.dpo_epochs} epochs): {v2} in {seconds:.0f} s")
        store_id, queries, seconds = knowledge_store(client)
        say(f"knowledge store {store_id}: 120 files ingested in {seconds:.1f} s")
        held_out = upload(client, "held_out.jsonl", jsonl(items.held_out), "evals")
        query_file = upload(client, "queries.jsonl", queries, "evals")
        retrieval = {"vector_store_ids": [store_id], **RETRIEVAL}
        tasks: list[dict[str, Any]] = [
            {"type": "source_preference", "name": "preference", "file": held_out, "method": "option"},
            {
                "type": "source_preference",
                "name": "preference_rag",
                "file": held_out,
                "method": "option",
                "retrieval": retrieval,
            },
            {
                "type": "retrieval_quality",
                "name": "retrieval",
                "file": query_file,
                "retrieval": {**retrieval, "max_num_results": 5},
            },
        ]
        if args.suite_limit:
            suite = {"type": "suite", "suite": "authority", "limit": args.suite_limit, "max_tokens": 96}
            tasks += [{**suite, "name": "suite"}, {**suite, "name": "suite_rag", "retrieval": retrieval}]
        started = time.perf_counter()
        done = evaluate(http, [v2, v1], tasks, args.seed)
        say(f"evaluation ({len(tasks)} tasks × 3 models) in {time.perf_counter() - started:.0f} s")
    labels = {v2: "v2 (DPO)", v1: "v1 (SFT)", DEFAULT_MODEL_NAME: "base"}
    say(f"held-out: {len(items.held_out)} source-preference items; retrieval: {json.dumps(RETRIEVAL)}")
    table(done["summary"], labels)
    accuracy = done["summary"]["metrics"]
    rag = accuracy["preference_rag.accuracy"][v2] - accuracy["preference.accuracy"][v2]
    say(f"rag_effect={rag:.4f}")


if __name__ == "__main__":
    main()
