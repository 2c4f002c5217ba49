"""A real outside client: lm-evaluation-harness's `local-completions` model against our /v1/completions.

It sends token-id prompts with `echo`, `logprobs` and `max_tokens: 1` and reads the prompt tokens' logprobs: the
log-likelihood path every multiple-choice task of the harness takes. On the bundled TruthfulQA sample, shown the
way our own evaluation shows it (options shuffled per item by our seed, letters scored), the harness must reach
the same accuracy, choose the same option on every item, and see the same per-option log-likelihoods as our
in-process evaluation (tolerance 1e-3: served float32 logits against the trainer's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager
from mlx_lm import load

from services.inference.config import InferenceSettings
from services.inference.server import start
from services.trainer.evals.choice import LETTERS, item_rng, render_prompt, shuffle_options
from services.trainer.evals.truthfulqa import load_truthfulqa, run_truthfulqa
from shared.model_registry import ModelRegistry
from shared.settings import RedisSettings, StorageSettings
from shared.storage import ObjectStore
from tests.helpers.gateway import gateway_test_settings, served_gateway

pytestmark = [pytest.mark.slow, pytest.mark.real_model]
NAME = "smollm2-harness"
SEED = 7


@pytest.fixture(scope="module")
def gateway_url(
    smollm2_base: Path,
    redis_settings: RedisSettings,
    storage_settings: StorageSettings,
    store: ObjectStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    ModelRegistry(client, store).register_base(NAME, smollm2_base)
    inference = start(
        InferenceSettings(
            host="127.0.0.1",
            port=0,
            redis=redis_settings,
            storage=storage_settings,
            cache_dir=tmp_path_factory.mktemp("harness-cache"),
        )
    )
    settings = gateway_test_settings(storage_settings, redis_settings, inference_target=f"127.0.0.1:{inference.port}")
    with served_gateway(settings) as url:
        yield f"{url}/v1"
    inference.stop(0)


def _task(folder: Path, rows: list[dict[str, object]]) -> Path:
    data = folder / "items.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (folder / "distrust_tqa.yaml").write_text(
        "task: distrust_tqa\n"
        "dataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\n"
        "output_type: multiple_choice\n"
        "doc_to_text: prompt\n"
        "doc_to_choice: choices\n"
        "doc_to_target: target\n"
        'target_delimiter: ""\n'
        "metric_list:\n  - metric: acc\n"
    )
    return folder


def test_the_harness_scores_like_our_own_evaluation(
    gateway_url: str, smollm2_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    model, tokenizer = load(str(smollm2_base))
    items = load_truthfulqa()
    ours = run_truthfulqa(model, tokenizer, items, seed=SEED, method="letter")

    rows = []
    for item in items:
        shown = shuffle_options(item, item_rng(SEED, item.id)).item
        rows.append(
            {
                "prompt": render_prompt(shown, tokenizer=tokenizer),
                "choices": [f" {LETTERS[i]}" for i in range(len(shown.options))],
                "target": shown.correct_index,
            }
        )
    output = simple_evaluate(
        model="local-completions",
        model_args={
            "model": NAME,
            "base_url": f"{gateway_url}/completions",
            "tokenizer_backend": "huggingface",
            "tokenizer": str(smollm2_base),
            "tokenized_requests": True,
            "header": {"Authorization": "Bearer key-alice"},
            "num_concurrent": 2,
            "max_retries": 1,
        },
        tasks=["distrust_tqa"],
        task_manager=TaskManager(include_path=str(_task(tmp_path, rows))),
        log_samples=True,
    )
    assert output is not None
    accuracy = output["results"]["distrust_tqa"]["acc,none"]
    assert accuracy == pytest.approx(ours["accuracy"]), (accuracy, ours["accuracy"])
    samples = sorted(output["samples"]["distrust_tqa"], key=lambda s: s["doc_id"])
    for sample, result in zip(samples, ours["results"], strict=True):
        harness = [float(resp[0][0]) for resp in sample["resps"]]
        assert max(range(len(harness)), key=lambda i: (harness[i], -i)) == result["chosen"]
        assert harness == pytest.approx(result["scores"], abs=1e-3)
