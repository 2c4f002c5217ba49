"""Task lists: validation with named fields, running every task type on a model, the side-by-side comparison."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import mlx_lm
import pytest

from services.trainer.evals.comparison import compare
from services.trainer.evals.parsing import parse_tasks
from services.trainer.evals.tasks import (
    PerplexityTask,
    SourcePreferenceTask,
    SuiteTask,
    TruthfulQATask,
    run_tasks,
)
from shared.errors import InvalidArgument
from tests.helpers.random_adapter import write_random_adapter
from tests.trainer.evals.builders import write_jsonl

ROWS = [
    {
        "text": [
            "Field notebook, day %d: the river was measured at dawn.",
            "The report of year %d summarises several papers.",
            "Officials agree the consensus on item %d is settled.",
        ][i % 3]
        % i,
        "auth_weight": [0.05, 0.5, 0.9][i % 3],
        "prov_entropy": [7.5, 4.0, 1.0][i % 3],
    }
    for i in range(9)
]


@pytest.fixture
def val_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "val.jsonl", ROWS)


def test_parse_defaults_and_names(val_file: Path) -> None:
    tasks = parse_tasks(
        [
            {"type": "perplexity", "file": str(val_file)},
            {"type": "source_preference"},
            {"type": "source_preference", "method": "option", "seed": 9},
            {"type": "suite", "suite": "authority"},
            {"type": "truthfulqa", "limit": 2, "name": "tqa"},
        ],
        seed=4,
    )
    assert [t.name for t in tasks] == ["perplexity", "source_preference", "source_preference_2", "suite", "tqa"]
    assert [t.type for t in tasks] == ["perplexity", "source_preference", "source_preference", "suite", "truthfulqa"]
    ppl, pref, pref2, suite, tqa = tasks
    assert isinstance(ppl, PerplexityTask) and ppl.max_seq_length == 1024 and len(ppl.records) == 9
    assert isinstance(pref, SourcePreferenceTask) and pref.method == "letter" and pref.seed == 4
    assert isinstance(pref2, SourcePreferenceTask) and pref2.method == "option" and pref2.seed == 9
    assert isinstance(suite, SuiteTask) and suite.suite.name == "authority" and suite.max_tokens == 512
    assert isinstance(tqa, TruthfulQATask) and tqa.method == "option" and len(tqa.items) == 2


@pytest.mark.parametrize(
    ("tasks", "param", "words"),
    [
        ([{"type": "source_preference"}, {"type": "vibes"}], "tasks[1].type", ["vibes"]),
        ([{"type": "source_preference"}, "perplexity"], "tasks[1]", []),
        ([{"type": "truthfulqa", "metod": "letter"}], "tasks[0].metod", ["no such option", "method"]),
        ([{"type": "truthfulqa", "method": "substring"}], "tasks[0].method", ["substring"]),
        ([{"type": "truthfulqa", "limit": 0}], "tasks[0].limit", []),
        ([{"type": "source_preference", "name": "x"}, {"type": "truthfulqa", "name": "x"}], "tasks[1].name", ["x"]),
        ([{"type": "perplexity"}], "tasks[0].file", ["auth_weight"]),
        ([{"type": "suite"}], "tasks[0].suite", ["censorship"]),
        ([{"type": "suite", "suite": "no-such-suite"}], "tasks[0].suite", ["no-such-suite"]),
        ([{"type": "suite", "suite": "censorship", "max_tokens": 0}], "tasks[0].max_tokens", []),
        ([{"type": "suite", "seed": -1, "suite": "censorship"}], "tasks[0].seed", []),
        ([], "tasks", []),
        (
            [{"type": "truthfulqa", "retrieval": {"vector_store_ids": ["vs_1"]}}],
            "tasks[0].retrieval",
            ["no such option"],
        ),
        (
            [{"type": "suite", "suite": "censorship", "retrieval": {"vector_store_ids": ["vs_1"], "distrust": 2.0}}],
            "tasks[0].retrieval.distrust",
            [],
        ),
        (
            [{"type": "generation", "prompts": ["a"], "retrieval": {"vector_store_ids": []}}],
            "tasks[0].retrieval.vector_store_ids",
            [],
        ),
    ],
)
def test_parse_errors_name_the_field(tasks: list[Any], param: str, words: list[str]) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_tasks(tasks)
    assert err.value.param == param, err.value.message
    for word in words:
        assert word in err.value.message


def test_parse_checks_the_files(tmp_path: Path, val_file: Path) -> None:
    unscored = write_jsonl(tmp_path / "unscored.jsonl", [{"text": "no scores"}])
    with pytest.raises(InvalidArgument) as err:
        parse_tasks([{"type": "perplexity", "file": str(unscored)}])
    assert err.value.param == "tasks[0].file" and "line 1" in err.value.message
    bad_suite = write_jsonl(tmp_path / "suite.jsonl", [{"id": "x", "prompt": "Say something"}])
    with pytest.raises(InvalidArgument) as err:
        parse_tasks([{"type": "suite", "file": str(bad_suite)}])
    assert err.value.param == "tasks[0].file" and "line 1" in err.value.message
    with pytest.raises(InvalidArgument) as err:
        parse_tasks([{"type": "suite", "suite": "censorship", "file": str(bad_suite)}])
    assert err.value.param == "tasks[0].file"
    with pytest.raises(InvalidArgument) as err:
        parse_tasks([{"type": "truthfulqa", "file": str(tmp_path / "missing.jsonl")}])
    assert err.value.param == "tasks[0].file" and "no such file" in err.value.message
    assert len(parse_tasks([{"type": "perplexity", "file": val_file, "limit": 4}])[0].records) == 4


def test_run_every_task_type_and_compare(chat_model_dir: Path, val_file: Path, tmp_path: Path) -> None:
    tasks = parse_tasks(
        [
            {"type": "perplexity", "file": str(val_file), "max_seq_length": 48, "batch_size": 2},
            {"type": "source_preference", "limit": 4},
            {"type": "suite", "suite": "censorship", "max_tokens": 3, "limit": 2},
            {"type": "truthfulqa", "limit": 3, "method": "letter"},
        ],
        seed=5,
    )
    base, tokenizer = mlx_lm.load(str(chat_model_dir))
    adapter = write_random_adapter(tmp_path / "adapter", base, seed=2, rank=4, magnitude=0.5)
    tuned, _ = mlx_lm.load(str(chat_model_dir), adapter_path=str(adapter))
    calls: list[tuple[str, int, int]] = []
    results = {
        "base": run_tasks(base, tokenizer, tasks, progress=lambda *a: calls.append(a)),
        "tuned": run_tasks(tuned, tokenizer, tasks),
    }
    json.dumps(results, allow_nan=False)
    base_report = results["base"]
    assert list(base_report) == ["perplexity", "source_preference", "suite", "truthfulqa"]
    assert {"type", "options", "seconds"} <= set(base_report["suite"])
    ppl = base_report["perplexity"]
    assert set(ppl["bands"]) == {"low", "mid", "high"} and ppl["examples"] == 9
    assert ppl["distrust_ratio"] == pytest.approx(
        ppl["bands"]["high"]["perplexity"] / ppl["bands"]["low"]["perplexity"]
    )
    assert base_report["source_preference"]["n"] == 4 and base_report["source_preference"]["target"] == 0.66
    assert len(base_report["suite"]["results"]) == 2 and base_report["suite"]["suite"] == "censorship"
    assert len(base_report["truthfulqa"]["results"]) == 3
    assert ("perplexity", 9, 9) in calls and ("source_preference", 4, 4) in calls
    assert ("suite", 2, 2) in calls and ("truthfulqa", 3, 3) in calls
    tuned_ppl = results["tuned"]["perplexity"]["bands"]["low"]["perplexity"]
    assert not math.isclose(ppl["bands"]["low"]["perplexity"], tuned_ppl, rel_tol=1e-4)

    summary = compare(results).model_dump()
    json.dumps(summary, allow_nan=False)
    assert summary["models"] == ["base", "tuned"]
    assert summary["distrust_ratio"] == {
        "base": ppl["distrust_ratio"],
        "tuned": results["tuned"]["perplexity"]["distrust_ratio"],
    }
    assert summary["metrics"]["perplexity.ppl_low"] == {"base": ppl["bands"]["low"]["perplexity"], "tuned": tuned_ppl}
    assert summary["metrics"]["source_preference.accuracy"]["base"] == base_report["source_preference"]["accuracy"]
    assert summary["metrics"]["suite.pass_rate"]["tuned"] == results["tuned"]["suite"]["pass_rate"]
    assert summary["metrics"]["truthfulqa.n"] == {"base": 3, "tuned": 3}


def test_compare_with_missing_tasks() -> None:
    results = {
        "a": {
            "ppl": {
                "type": "perplexity",
                "bands": {"low": {"perplexity": 2.0}, "high": {"perplexity": 3.0}, "mid": {"perplexity": None}},
                "overall": {"perplexity": 2.5},
                "distrust_ratio": 1.5,
            }
        },
        "b": {"pref": {"type": "source_preference", "accuracy": 0.75, "ci_low": 0.5, "ci_high": 0.9, "n": 12}},
    }
    summary = compare(results).model_dump()
    assert summary["distrust_ratio"] == {"a": 1.5, "b": None}
    assert summary["metrics"]["ppl.ppl_high"] == {"a": 3.0, "b": None}
    assert summary["metrics"]["pref.accuracy"] == {"a": None, "b": 0.75}
    assert summary["metrics"]["ppl.ppl_mid"] == {"a": None, "b": None}


def test_generation_keeps_every_answer_side_by_side_with_seeded_sampling(chat_model_dir: Path, tmp_path: Path) -> None:
    from shared.pb.distrust.trainer.v1 import evaluation_pb2 as epb
    from shared.schemas.evaluation import GenerationTask, task_from_message, task_to_message

    prompts = ["Who measured the river?", "Where are the letters kept?"]
    asked = GenerationTask(prompts=prompts, n=2, max_tokens=4, temperature=1.0)
    assert task_from_message(task_to_message(asked)) == asked
    tasks = parse_tasks([asked], seed=11)
    base, tokenizer = mlx_lm.load(str(chat_model_dir))
    first, again = run_tasks(base, tokenizer, tasks), run_tasks(base, tokenizer, tasks)
    report = first["generation"]
    assert report["items"] == again["generation"]["items"]  # the same seed, the same answers
    assert [item["prompt"] for item in report["items"]] == prompts
    assert all(len(item["answers"]) == 2 for item in report["items"]) and report["answers"] == 4
    assert report["options"]["temperature"] == 1.0 and report["options"]["n"] == 2
    assert compare({"base": first}).metrics["generation.answers"] == {"base": 4}
    file = write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": p} for p in prompts])
    assert parse_tasks([{"type": "generation", "file": str(file), "limit": 1}])[0].prompts == (prompts[0],)  # type: ignore[union-attr]
    for bad, param in (
        ({"type": "generation"}, "tasks[0].prompts"),
        ({"type": "generation", "prompts": ["a"], "file": str(file)}, "tasks[0].prompts"),
        ({"type": "generation", "prompts": ["a"], "temperature": 3}, "tasks[0].temperature"),
        ({"type": "generation", "file": str(write_jsonl(tmp_path / "bad.jsonl", [{"text": "x"}]))}, "tasks[0].file"),
    ):
        with pytest.raises(InvalidArgument) as caught:
            parse_tasks([bad])
        assert caught.value.param == param, bad
    assert {"prompts", "n", "temperature"} <= set(epb.GenerationTask.DESCRIPTOR.fields_by_name)


def test_retrieval_options_travel_through_the_contract_and_reach_the_prompts(chat_model_dir: Path) -> None:
    from services.trainer.evals.tasks import Grounding, retrieval_prompts
    from shared.schemas.evaluation import (
        GenerationTask,
        SourcePreferenceTask,
        SuiteTask,
        task_from_message,
        task_to_message,
    )
    from shared.schemas.vector_stores import RetrievalOptions

    options = RetrievalOptions(vector_store_ids=["vs_a", "vs_b"], max_num_results=2, distrust=0.5, mode="vector")
    asked = [
        SuiteTask(suite="authority", limit=2, retrieval=options),
        GenerationTask(prompts=["Who measured the river?"], max_tokens=3, temperature=0.0, retrieval=options),
        SourcePreferenceTask(limit=2, retrieval=options, method="option"),
        SourcePreferenceTask(limit=2, method="cyclic"),
    ]
    assert [task_from_message(task_to_message(t)) for t in asked] == asked
    suite, generation, preference, _ = parse_tasks(asked)
    wanted = retrieval_prompts(suite)
    assert wanted is not None and wanted[0] == options and len(wanted[1]) == 2
    assert retrieval_prompts(parse_tasks([{"type": "suite", "suite": "authority"}])[0]) is None
    grounding = Grounding(
        "Use the numbered sources below.\n\n[1] log.txt, chunk 0\nThe gauge read 2.1 m.", ("log.txt#0",)
    )
    base, tokenizer = mlx_lm.load(str(chat_model_dir))
    questions = retrieval_prompts(preference)
    assert questions is not None and questions[1] == [item.question for item in preference.items]  # type: ignore[union-attr]
    groundings = {
        "suite": {wanted[1][0]: grounding},
        "generation": {"Who measured the river?": grounding},
        "source_preference": {questions[1][1]: grounding},
    }
    report = run_tasks(base, tokenizer, [suite, generation, preference], groundings=groundings)
    assert [r["sources"] for r in report["suite"]["results"]] == [["log.txt#0"], []]
    assert report["generation"]["items"][0]["sources"] == ["log.txt#0"]
    assert report["suite"]["options"]["retrieval"]["distrust"] == 0.5
    assert [r["sources"] for r in report["source_preference"]["results"]] == [[], ["log.txt#0"]]
    assert report["source_preference"]["options"]["retrieval"]["vector_store_ids"] == ["vs_a", "vs_b"]
    plain = run_tasks(base, tokenizer, [preference])["source_preference"]["results"]
    assert plain[0]["scores"] == report["source_preference"]["results"][0]["scores"]  # no chunks: the same prompt
    assert plain[1]["scores"] != report["source_preference"]["results"][1]["scores"]  # the chunks were read
    assert "sources" not in plain[0]
