"""`distrust score` and `distrust prepare` in-process (--local); the stack test runs them remotely."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from services.scorer.scoring import score_batch

runner = CliRunner()
DOC = "According to the 1923 patent, the laboratory notebook records the original measurements [1]."


def test_score_local_writes_one_result_per_line_in_order(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"text": DOC, "year": 1923}, {"text": "short"}, {"text": DOC + " Officials agree.", "source": "WHO"}]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["score", "--input", str(source), "--output", str(out), "--local", "--profile", "reference"]
    )
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in out.read_text().splitlines()]
    expected = list(
        score_batch([(r["text"], {k: v for k, v in r.items() if k != "text"}) for r in rows], profile="reference")
    )
    assert [g["line"] for g in got] == [1, 2, 3]
    assert [g["auth_weight"] for g in got] == [e.auth_weight for e in expected]
    assert got[1]["scoring_method"] == "default"


def test_score_local_reports_bad_lines_and_exits_non_zero(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": DOC}) + "\n{oops\n" + json.dumps({"text": DOC, "year": [1]}) + "\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["score", "-i", str(source), "-o", str(out), "--local"])
    assert result.exit_code == 1
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert "auth_weight" in got[0]
    assert got[1]["line"] == 2 and "invalid JSON" in got[1]["error"]["message"]
    assert got[2]["error"]["param"].endswith("metadata.year")


def test_score_reads_the_text_from_text_field(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"body": DOC, "year": 1923}) + "\n" + json.dumps({"text": DOC}) + "\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["score", "-i", str(source), "-o", str(out), "--local", "--text-field", "body"])
    assert result.exit_code == 1
    got = [json.loads(line) for line in out.read_text().splitlines()]
    expected = next(iter(score_batch([(DOC, {"year": 1923})], profile="strict")))
    assert got[0]["auth_weight"] == expected.auth_weight
    assert got[1]["line"] == 2 and '"body"' in got[1]["error"]["message"]


def test_prepare_local_writes_three_files(tmp_path: Path) -> None:
    raw = tmp_path / "letters.jsonl"
    raw.write_text(
        "\n".join(json.dumps({"text": f"{DOC} Entry {i} of the original letters and notes."}) for i in range(30)) + "\n"
    )
    out_dir = tmp_path / "prepared"
    result = runner.invoke(
        app,
        [
            "prepare",
            str(raw),
            "-o",
            str(out_dir),
            "--local",
            "--no-rebalance",
            "--seed",
            "5",
            "--val-fraction",
            "0.2",
            "--min-length",
            "20",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out_dir / "report.json").read_text())
    train = (out_dir / "train.jsonl").read_text().splitlines()
    val = (out_dir / "val.jsonl").read_text().splitlines()
    assert len(train) == report["split"]["train"] == 24 and len(val) == report["split"]["val"] == 6
    assert "train 24 / val 6" in result.output


def test_prepare_local_bad_option_is_a_clear_error(tmp_path: Path) -> None:
    raw = tmp_path / "r.jsonl"
    raw.write_text(json.dumps({"text": DOC}) + "\n")
    result = runner.invoke(app, ["prepare", str(raw), "-o", str(tmp_path / "o"), "--local", "--val-fraction", "3"])
    assert result.exit_code == 1 and "val_fraction" in result.output


def test_recommend_for_a_local_model_folder(tmp_path: Path) -> None:
    from services.trainer.models.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "m", hidden_size=64, num_layers=2)
    result = runner.invoke(app, ["recommend", "--model", str(model), "--seq-len", "256"])
    assert result.exit_code == 0, result.output
    assert "batch_size" in result.output and "lora_rank" in result.output and "GB of" in result.output
    missing = runner.invoke(app, ["recommend", "--model", str(tmp_path)])
    assert missing.exit_code != 0 and "config.json" in missing.output


def test_pairs_local_builds_dpo_files_by_provenance_and_by_annotation(tmp_path: Path) -> None:
    import json

    from tests.scorer.test_preference_pairs import AUTHORITY, PRIMARY

    source = tmp_path / "candidates.jsonl"
    rows = [{"prompt": f"Question {i}?", "candidates": [AUTHORITY, PRIMARY + f" ({i})"]} for i in range(10)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = runner.invoke(app, ["pairs", str(source), "--local", "-o", str(tmp_path / "out"), "--val-fraction", "0.2"])
    assert result.exit_code == 0, result.output
    assert "10 pairs from 10 prompts" in result.output
    train = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    val = (tmp_path / "out" / "val.jsonl").read_text().splitlines()
    assert len(train) == 8 and len(val) == 2
    assert all(r["preferred_output"][0]["content"].startswith(PRIMARY) for r in train)
    sheet = tmp_path / "notes.csv"
    sheet.write_text('prompt,preferred,non_preferred\r\nWho?,"The log, day 3",They say\r\nWhen?,In 1871,Long ago\r\n')
    result = runner.invoke(app, ["pairs", str(sheet), "--rule", "manual", "--local", "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    manual = [json.loads(line) for line in (tmp_path / "m" / "train.jsonl").read_text().splitlines()]
    assert {r["preferred_output"][0]["content"] for r in manual} <= {"The log, day 3", "In 1871"}
    bad = runner.invoke(app, ["pairs", str(source), "--rule", "rules", "--local"])
    assert bad.exit_code != 0 and "pairs.rules" in bad.output
