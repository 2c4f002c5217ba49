"""`distrust eval` and `distrust export`: the tasks the options ask for, and options refused before any request."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.eval_commands import _tasks
from cli.main import app

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
