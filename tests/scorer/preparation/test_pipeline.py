"""The whole pipeline: malformed lines, strict mode, progress, determinism, record and report formats."""

from __future__ import annotations

import json
import math
from itertools import groupby

import pytest

from services.scorer.preparation import STAGES, PrepareOptions, ProgressEvent, RawInput, prepare_dataset
from shared.errors import Cancelled, FailedPrecondition, InternalError, InvalidArgument
from shared.records import validate_training_record


def _malformed_input(text_of) -> RawInput:
    lines: list[bytes | str] = [
        json.dumps({"text": text_of("LOWTAG", 11)}),  # 1 ok
        '{"text": "unterminated',  # 2 not JSON
        "[1, 2, 3]",  # 3 not an object
        json.dumps({"id": 7, "score": 3}),  # 4 no text
        json.dumps({"text": "x" * 60}),  # 5 too short (60 < 100)
        "",  # 6 blank: counted, not rejected
        b'{"text": "\xff\xfe"}',  # 7 not UTF-8
        json.dumps({"text": text_of("HIGHTAG", 2)}).encode() + b"\n",  # 8 ok, as bytes
        json.dumps({"messages": "nope"}),  # 9 invalid messages
    ]
    return RawInput("data/raw/mixed.jsonl", lines)


def test_malformed_lines_are_reported_with_file_line_and_reason(fake_score, text_of, lines_of) -> None:
    inputs = [RawInput("good.jsonl", lines_of(low=2)), _malformed_input(text_of)]
    result = prepare_dataset(inputs, PrepareOptions(rebalance=False), score=fake_score)
    rejected = result.report["rejected"]
    assert [(r["file"], r["input_index"], r["line"], r["code"]) for r in rejected["lines"]] == [
        ("data/raw/mixed.jsonl", 1, 2, "invalid_json"),
        ("data/raw/mixed.jsonl", 1, 3, "not_an_object"),
        ("data/raw/mixed.jsonl", 1, 4, "no_text"),
        ("data/raw/mixed.jsonl", 1, 5, "too_short"),
        ("data/raw/mixed.jsonl", 1, 7, "invalid_utf8"),
        ("data/raw/mixed.jsonl", 1, 9, "invalid_messages"),
    ]
    assert rejected["total"] == 6 and rejected["listed"] == 6 and rejected["truncated"] is False
    assert rejected["by_reason"] == dict.fromkeys(
        ["invalid_json", "invalid_messages", "invalid_utf8", "no_text", "not_an_object", "too_short"], 1
    )
    reasons = {r["line"]: r["reason"] for r in rejected["lines"]}
    assert reasons[3] == "a record must be a JSON object, got an array"
    assert reasons[5] == "text has 60 characters, fewer than min_length=100"
    assert next(r for r in rejected["lines"] if r["line"] == 3)["excerpt"] == "[1, 2, 3]"
    assert result.report["lines"] == {"total": 11, "blank": 1, "accepted": 4, "rejected": 6}
    mixed = result.report["inputs"][1]
    assert (mixed["lines"], mixed["blank_lines"], mixed["accepted"], mixed["rejected"]) == (9, 1, 2, 6)
    assert len(result.train) + len(result.val) == 4
    assert any("6 lines rejected" in w for w in result.report["warnings"])


def test_strict_mode_rejects_the_whole_input_at_the_first_bad_line(fake_score, text_of, lines_of) -> None:
    inputs = [RawInput("good.jsonl", lines_of(low=2)), _malformed_input(text_of)]
    with pytest.raises(InvalidArgument) as info:
        prepare_dataset(inputs, PrepareOptions(strict=True), score=fake_score)
    assert info.value.param == "inputs[1]"
    assert info.value.message.startswith("data/raw/mixed.jsonl line 2: invalid JSON")


def test_strict_mode_rejects_a_short_text(fake_score, lines_of) -> None:
    lines = [*lines_of(low=3), json.dumps({"text": "y" * 99})]
    with pytest.raises(InvalidArgument) as info:
        prepare_dataset([RawInput("x.jsonl", lines)], PrepareOptions(strict=True), score=fake_score)
    assert info.value.param == "inputs[0]"
    assert "x.jsonl line 4: text has 99 characters" in info.value.message


def test_strict_mode_accepts_clean_input_and_blank_lines(fake_score, lines_of) -> None:
    lines = [*lines_of(low=3, mid=2), "", "\n"]
    result = prepare_dataset([RawInput("x.jsonl", lines)], PrepareOptions(strict=True), score=fake_score)
    assert len(result.train) + len(result.val) == 5
    assert result.report["rejected"]["total"] == 0


def test_rejected_list_is_capped_but_all_are_counted(fake_score, lines_of) -> None:
    lines = [*lines_of(low=2), *(["{" + "q" * 500] * 1005)]
    result = prepare_dataset([RawInput("x.jsonl", lines)], PrepareOptions(), score=fake_score)
    rejected = result.report["rejected"]
    assert rejected["total"] == 1005 and rejected["listed"] == 1000 and rejected["truncated"] is True
    assert len(rejected["lines"]) == 1000
    assert rejected["lines"][-1]["line"] == 1002
    assert rejected["lines"][0]["excerpt"] == "{" + "q" * 79 + "…"


def test_nothing_usable_is_a_failed_precondition(fake_score) -> None:
    with pytest.raises(FailedPrecondition) as info:
        prepare_dataset([RawInput("x.jsonl", ["nope", "", "[]"])], PrepareOptions(), score=fake_score)
    assert "no usable records: 3 lines read, 2 rejected" in info.value.message


def test_end_to_end_reference_rebalancing_and_split(fake_score, lines_of) -> None:
    lines = lines_of(low=300, mid=600, high=1000)
    result = prepare_dataset([RawInput("x.jsonl", lines)], PrepareOptions(), score=fake_score)
    report = result.report
    assert report["bands"]["before"] == {"low": 300, "mid": 600, "high": 1000}
    assert report["bands"]["after"] == {"low": 300, "mid": 480, "high": 420}
    assert report["bands"]["after_fraction"] == {"low": 0.25, "mid": 0.4, "high": 0.35}
    assert report["split"] == {"train": 960, "val": 240, "val_fraction": 0.2, "seed": 42}
    assert len(result.train) == 960 and len(result.val) == 240
    low_texts = {r["text"] for r in result.train + result.val if r["auth_weight"] < 0.3}
    assert len(low_texts) == 300  # every low record kept
    assert report["inputs"][0]["final"] == 1200
    assert report["inputs"][0]["train"] == 960 and report["inputs"][0]["val"] == 240


def test_same_seed_same_output_other_seed_other_order(fake_score, lines_of) -> None:
    lines = lines_of(low=20, mid=40, high=60)

    def run(seed: int):
        return prepare_dataset([RawInput("x.jsonl", lines)], PrepareOptions(seed=seed), score=fake_score)

    first, again, other = run(42), run(42), run(43)
    assert first.train == again.train and first.val == again.val
    assert first.report == again.report
    assert [r["text"] for r in first.train] != [r["text"] for r in other.train]
    assert len(first.train) == len(other.train) == 64


def test_progress_events_come_in_stage_order(fake_score, lines_of) -> None:
    for options in (PrepareOptions(), PrepareOptions(dedup=False, rebalance=False)):
        events: list[ProgressEvent] = []
        lines = lines_of(low=30, mid=30, high=30)
        inputs = [RawInput("a.jsonl", lines), RawInput("b.jsonl", [])]
        prepare_dataset(inputs, options, progress=events.append, score=fake_score)
        assert tuple(stage for stage, _ in groupby(e.stage for e in events)) == STAGES
        assert STAGES == ("reading", "deduplicating", "scoring", "rebalancing", "splitting", "done")
        for stage, group in groupby(events, key=lambda e: e.stage):
            done = [e.done for e in group]
            assert done == sorted(done), stage
        assert all(e.total is None for e in events if e.stage == "reading")
        scoring = [e for e in events if e.stage == "scoring"]
        assert (scoring[0].done, scoring[-1].done, scoring[-1].total) == (0, 90, 90)
        last = events[-1]
        assert (last.stage, last.done, last.total) == (
            "done",
            90,
            90,
        )  # 30/30/30 is short in mid and high: all kept
        assert all(isinstance(e.message, str) and e.message for e in events)


def test_a_progress_callback_can_cancel(fake_score, lines_of) -> None:
    def cancel(event: ProgressEvent) -> None:
        if event.stage == "scoring":
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        prepare_dataset([RawInput("x.jsonl", lines_of(low=3))], PrepareOptions(), progress=cancel, score=fake_score)
    assert fake_score.calls == []


def test_output_record_format(fake_score, text_of) -> None:
    def score(text, metadata):
        fake_score(text, metadata)
        return {"auth_weight": 0.299996, "prov_entropy": 6.123456789, "scoring_method": "hybrid"}

    long_text = text_of("z", 1, length=9000)
    lines = [json.dumps({"text": long_text, "url": "https://x.org", "year": 1901, "abstract": "A" * 400})]
    result = prepare_dataset(
        [RawInput("gutenberg.jsonl", lines)],
        PrepareOptions(max_chars=1000, val_fraction=0.0, rebalance=False),
        score=score,
    )
    (record,) = result.train
    assert list(record) == [
        "text",
        "auth_weight",
        "prov_entropy",
        "source_type",
        "trivium_category",
        "scoring_method",
        "metadata",
    ]
    assert record["text"] == long_text[:1000]
    assert record["auth_weight"] == 0.3  # rounded to 4 decimals ...
    assert result.report["bands"]["after"] == {"low": 0, "mid": 1, "high": 0}  # ... and banded when rounded
    assert record["prov_entropy"] == 6.1235
    assert record["source_type"] == "classical_literature" and record["trivium_category"] == "rhetoric"
    assert record["metadata"] == {"url": "https://x.org", "year": 1901}
    text, metadata = fake_score.calls[0]
    assert text == long_text[:1000]  # the scorer sees what the model will see
    assert metadata["source_type"] == "classical_literature" and metadata["year"] == 1901


def test_structured_records_are_kept_as_is(fake_score) -> None:
    messages = [{"role": "user", "content": "LOWTAG " + "q" * 80}, {"role": "assistant", "content": "a" * 80}]
    lines = [
        json.dumps({"messages": messages, "id": 1}),
        json.dumps({"prompt": "MIDTAG " + "p" * 80, "completion": "c" * 80}),
    ]
    result = prepare_dataset([RawInput("x.jsonl", lines)], PrepareOptions(val_fraction=0.0), score=fake_score)
    by_kind = {("messages" in r): r for r in result.train}
    assert by_kind[True]["messages"] == messages and by_kind[True]["auth_weight"] == 0.1
    assert by_kind[True]["metadata"] == {"id": 1}
    assert by_kind[False]["prompt"].startswith("MIDTAG") and by_kind[False]["completion"] == "c" * 80
    assert "text" not in by_kind[True] and "text" not in by_kind[False]
    assert fake_score.calls[0][0] == "LOWTAG " + "q" * 80 + "\n\n" + "a" * 80


def test_every_output_record_meets_the_shared_training_contract(fake_score, lines_of) -> None:
    messages = [{"role": "user", "content": "LOWTAG " + "q" * 80}, {"role": "assistant", "content": "a" * 80}]
    lines = [
        *lines_of(low=5, mid=5, high=5, year=1900, tags=["x"]),
        json.dumps({"messages": messages}),
        json.dumps({"prompt": "", "completion": "HIGHTAG " + "c" * 100, "source_type": "wiki"}),
        json.dumps({"abstract": "LOWTAG " + "b" * 100, "trivium_category": "logic"}),
    ]
    result = prepare_dataset([RawInput("notes.jsonl", lines)], PrepareOptions(rebalance=False), score=fake_score)
    shapes = {validate_training_record(r, require_scores=True) for r in result.train + result.val}
    assert shapes == {"text", "chat", "completion"}
    assert len(result.train) + len(result.val) == 18


def test_report_is_json_ready_and_has_exact_statistics(fake_score, lines_of) -> None:
    result = prepare_dataset(
        [RawInput("arxiv.jsonl", lines_of(low=2, mid=2, high=4))],
        PrepareOptions(rebalance=False),
        score=fake_score,
    )
    report = result.report
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert report["auth_weight"]["after"] == {
        "count": 8,
        "mean": 0.6,
        "std": 0.331662,
        "min": 0.1,
        "max": 0.9,
    }
    assert report["prov_entropy"]["before"]["mean"] == 4.0 and report["prov_entropy"]["before"]["max"] == 9.0
    assert report["by_band"]["high"]["count"] == 4
    assert report["by_band"]["high"]["prov_entropy"]["min"] == 1.0
    assert report["trivium"]["after"] == {"grammar": 0, "logic": 8, "rhetoric": 0, "uncategorised": 0}
    assert report["source_types"]["before"] == {"preprint": 8}
    assert report["scoring"] == {"profile": "strict", "scored": 8, "by_method": {"hybrid": 8}}
    assert report["options"]["targets"] == [0.25, 0.4, 0.35] and report["seed"] == 42
    assert math.isclose(report["bands"]["before_fraction"]["high"], 0.5)


def test_a_scorer_invalid_argument_rejects_that_record(fake_score, lines_of) -> None:
    def score(text, metadata):
        if "number 1 " in text:
            raise InvalidArgument("metadata.year: got 'soon', expected a year", param="metadata.year")
        return fake_score(text, metadata)

    result = prepare_dataset([RawInput("x.jsonl", lines_of(low=3))], PrepareOptions(), score=score)
    assert len(result.train) + len(result.val) == 2
    (rejection,) = result.report["rejected"]["lines"]
    assert (rejection["line"], rejection["code"]) == (2, "scoring_failed")
    assert "metadata.year" in rejection["reason"]
    assert result.report["inputs"][0]["accepted"] == 2 and result.report["inputs"][0]["rejected"] == 1
    with pytest.raises(InvalidArgument, match=r"x\.jsonl line 2: scoring failed"):
        prepare_dataset([RawInput("x.jsonl", lines_of(low=3))], PrepareOptions(strict=True), score=score)


@pytest.mark.parametrize(("w", "h"), [(1.2, 1.0), (-0.1, 1.0), (float("nan"), 1.0), (0.5, -1.0), (0.5, None)])
def test_an_out_of_range_score_is_an_internal_error(lines_of, w, h) -> None:
    with pytest.raises(InternalError, match=r"x\.jsonl line 1"):
        prepare_dataset(
            [RawInput("x.jsonl", lines_of(low=1))], PrepareOptions(),
            score=lambda text, md: {"auth_weight": w, "prov_entropy": h},
        )  # fmt: skip


def test_keep_existing_scores(fake_score, text_of) -> None:
    lines = [
        json.dumps({"text": text_of("HIGHTAG", 1), "auth_weight": 0.02, "prov_entropy": 8.5}),
        json.dumps({"text": text_of("HIGHTAG", 2)}),
        json.dumps({"text": text_of("HIGHTAG", 3), "auth_weight": 1.5, "prov_entropy": 8.5}),
        json.dumps({"text": text_of("HIGHTAG", 4), "auth_weight": 0.2}),
    ]
    options = PrepareOptions(keep_existing_scores=True, rebalance=False, val_fraction=0.0)
    result = prepare_dataset([RawInput("x.jsonl", lines)], options, score=fake_score)
    by_number = {int(r["text"].split()[3]): r for r in result.train}
    assert set(by_number) == {1, 2}
    assert (by_number[1]["auth_weight"], by_number[1]["prov_entropy"]) == (0.02, 8.5)
    assert by_number[1]["scoring_method"] == "provided"
    assert by_number[2]["auth_weight"] == 0.9 and by_number[2]["scoring_method"] == "dynamic"
    assert [c[0] for c in fake_score.calls] == [text_of("HIGHTAG", 2)]
    reasons = {r["line"]: r["reason"] for r in result.report["rejected"]["lines"]}
    assert reasons == {
        3: "auth_weight: got 1.5, expected a number in [0.0, 0.99]",
        4: "auth_weight and prov_entropy must be given together or not at all",
    }
    # by default existing scores are ignored and every record is re-scored (as in the reference)
    options = PrepareOptions(val_fraction=0.0, rebalance=False)
    default = prepare_dataset([RawInput("x.jsonl", lines[:1])], options, score=fake_score)
    assert default.train[0]["auth_weight"] == 0.9


def test_lines_are_streamed_once(fake_score, lines_of) -> None:
    consumed: list[int] = []

    def stream():
        for i, line in enumerate(lines_of(low=4)):
            consumed.append(i)
            yield line.encode()

    result = prepare_dataset([RawInput("x.jsonl", stream())], PrepareOptions(), score=fake_score)
    assert consumed == [0, 1, 2, 3]
    assert len(result.train) + len(result.val) == 4


@pytest.mark.parametrize(
    ("inputs", "param"),
    [
        ([], "inputs"),
        ("x.jsonl", "inputs"),
        ([("x.jsonl", [])], "inputs[0]"),
        ([RawInput("", [])], "inputs[0].name"),
    ],
)
def test_bad_inputs(fake_score, inputs, param) -> None:
    with pytest.raises(InvalidArgument) as info:
        prepare_dataset(inputs, PrepareOptions(), score=fake_score)
    assert info.value.param == param


def test_bad_options_object(fake_score) -> None:
    with pytest.raises(InvalidArgument) as info:
        prepare_dataset([RawInput("x.jsonl", [])], {"seed": 1}, score=fake_score)  # type: ignore[arg-type]
    assert info.value.param == "options"
