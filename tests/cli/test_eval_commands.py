"""`distrust eval` and `distrust export`: the tasks the options ask for, and options refused before any request."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.eval_commands import _tasks, with_retrieval
from cli.main import app
from services.trainer.evals.parsing import parse_tasks
from shared.schemas.vector_stores import RetrievalOptions

runner = CliRunner()
NO_GATEWAY = {"DISTRUST_BASE_URL": "http://127.0.0.1:1", "DISTRUST_API_KEY": "x"}


def _ask(**options: object) -> list[dict[str, object]]:
    defaults: dict[str, object] = {
        "validation_file": None,
        "preference": False,
        "preference_file": None,
        "suite": [],
        "truthfulqa": None,
        "method": None,
        "limit": None,
        "max_tokens": None,
    }
    tasks = _tasks(lambda value, purpose: f"{purpose}:{value}", **{**defaults, **options})  # type: ignore[arg-type]
    return [t.model_dump() for t in tasks]


def test_no_task_option_asks_for_the_built_in_sets() -> None:
    assert _ask(method="option") == [
        {"type": "source_preference", "method": "option"},
        {"type": "truthfulqa", "method": "option"},
    ]


def test_each_option_gives_its_task_and_files_are_resolved() -> None:
    tasks = _ask(validation_file="val.jsonl", suite=["authority", "mine.jsonl"], truthfulqa="sample", limit=5)
    assert tasks == [
        {"type": "perplexity", "file": "fine-tune:val.jsonl", "limit": 5},
        {"type": "suite", "suite": "authority", "limit": 5},
        {"type": "suite", "file": "evals:mine.jsonl", "limit": 5},
        {"type": "truthfulqa", "limit": 5},
    ]


def test_bad_options_are_refused_naming_the_option() -> None:
    result = runner.invoke(app, ["eval", "m", "--method", "guess"], env=NO_GATEWAY)
    assert result.exit_code == 1 and "--method" in result.output and "guess" in result.output
    result = runner.invoke(app, ["eval", "m", "--preference", "--limit", "0"], env=NO_GATEWAY)
    assert result.exit_code == 1 and "--limit" in result.output
    result = runner.invoke(app, ["export", "m", "--group-size", "32"], env=NO_GATEWAY)
    assert result.exit_code == 1 and "--group-size" in result.output


def test_store_adds_a_rag_copy_of_each_preference_and_suite_task() -> None:
    tasks = _tasks(
        lambda value, purpose: value,
        validation_file=None,
        preference=True,
        preference_file=None,
        suite=["authority", "censorship"],
        truthfulqa="sample",
        method="option",
        limit=2,
        max_tokens=4,
    )
    retrieval = RetrievalOptions(vector_store_ids=["vs_a"], max_num_results=3, distrust=0.5)
    asked = with_retrieval(tasks, retrieval, "file-queries")
    names = [t.name for t in asked]
    assert names == [None, None, None, None, "source_preference_rag", "suite_rag", "suite_2_rag", "retrieval"]
    assert [t.retrieval for t in asked[4:]] == [retrieval] * 4  # type: ignore[union-attr]
    assert asked[5].suite == "authority" and asked[6].suite == "censorship"  # type: ignore[union-attr]
    assert asked[7].file == "file-queries"  # type: ignore[union-attr]
    parsed = parse_tasks([t.model_dump() for t in asked[:7]])  # the names the server gives do not collide
    assert [t.name for t in parsed] == [
        "source_preference",
        "suite",
        "suite_2",
        "truthfulqa",
        "source_preference_rag",
        "suite_rag",
        "suite_2_rag",
    ]


def test_bad_retrieval_options_are_refused_naming_the_option() -> None:
    result = runner.invoke(app, ["eval", "m", "--retrieval-queries", "q.jsonl"], env=NO_GATEWAY)
    assert result.exit_code == 1 and "--retrieval-queries" in result.output and "--store" in result.output
    result = runner.invoke(app, ["eval", "m", "--store", "vs_a", "--rag-distrust", "2"], env=NO_GATEWAY)
    assert result.exit_code == 1 and "--rag-distrust" in result.output
    result = runner.invoke(app, ["eval", "m", "--store", "vs_a", "--rag-k", "0"], env=NO_GATEWAY)
    assert result.exit_code == 1 and "--rag-k" in result.output
