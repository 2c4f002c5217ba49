"""Text extraction (the reference's field order), record shapes, line decoding, metadata."""

from __future__ import annotations

import json

import pytest

from services.scorer.preparation import TEXT_FIELDS, extract_text
from services.scorer.preparation.extract import (
    MalformedLine,
    decode_line,
    excerpt,
    extract_content,
    output_metadata,
    parse_record,
)

LONG = "x" * 60


def test_field_order_is_the_references() -> None:
    assert TEXT_FIELDS == (
        "text", "content", "body", "abstract", "description", "summary", "ocr_eng", "ocr_text",
        "article", "document", "title", "question", "answer", "support",
    )  # fmt: skip


def test_each_field_wins_over_every_later_one() -> None:
    record = {field: f"{field}: {LONG}" for field in reversed(TEXT_FIELDS)}
    for field in TEXT_FIELDS:
        text, used = extract_text(record)
        assert used == (field,)
        assert text == f"{field}: {LONG}"
        del record[field]


def test_a_field_must_be_longer_than_50_characters() -> None:
    record = {"text": "t" * 50, "abstract": "a" * 51}
    assert extract_text(record) == ("a" * 51, ("abstract",))


def test_whitespace_padding_does_not_count_and_is_stripped() -> None:
    record = {"text": "  " + "t" * 49 + "   ", "body": "\n" + "b" * 55 + "\n"}
    assert extract_text(record) == ("b" * 55, ("body",))


def test_non_string_fields_are_never_stringified() -> None:
    record = {"text": ["a" * 100, "b" * 100], "content": 12345678901234567890, "body": "c" * 60}
    assert extract_text(record) == ("c" * 60, ("body",))


def test_fallback_joins_up_to_three_fields_longer_than_20_in_record_order() -> None:
    record = {
        "id": "short",
        "source_type": "s" * 30,  # a label, never body text
        "a": "A" * 21,
        "b": "B" * 20,  # not longer than 20
        "c": "C" * 30,
        "title": "T" * 40,  # a text field, too short for the first pass, fine for the fallback
        "e": "E" * 30,
    }
    text, used = extract_text(record)
    assert used == ("a", "c", "title")
    assert text == " ".join(["A" * 21, "C" * 30, "T" * 40])


def test_nothing_extractable() -> None:
    assert extract_text({"id": 1, "text": "short"}) == ("", ())
    with pytest.raises(MalformedLine) as info:
        extract_content({"id": 1}, min_length=100, max_chars=8192)
    assert info.value.code == "no_text"


def test_minimum_length_is_inclusive() -> None:
    content = extract_content({"text": "y" * 100}, min_length=100, max_chars=8192)
    assert content.text == "y" * 100 and content.fields == {"text": "y" * 100} and not content.truncated
    with pytest.raises(MalformedLine) as info:
        extract_content({"text": "y" * 99}, min_length=100, max_chars=8192)
    assert info.value.code == "too_short"
    assert "99 characters" in info.value.reason and "min_length=100" in info.value.reason


def test_truncation_to_max_chars() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(9000))
    content = extract_content({"text": text}, min_length=100, max_chars=8192)
    assert content.truncated
    assert content.fields == {"text": text[:8192]}
    assert content.text == text[:8192]


def test_messages_are_kept_as_is_and_joined_for_scoring() -> None:
    messages = [{"role": "user", "content": "Q " * 30}, {"role": "assistant", "content": "A " * 40, "x": 1}]
    content = extract_content({"messages": messages, "text": "ignored " * 20}, min_length=100, max_chars=120)
    assert content.kind == "messages"
    assert content.fields == {"messages": messages}
    assert content.text == ("Q " * 30 + "\n\n" + "A " * 40).strip()[:120]
    assert content.truncated


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "messages"),
        ("hello", "messages"),
        ([{"role": "user"}, {"role": "assistant", "content": "x" * 200}], "messages[0].content"),
        ([{"role": "assistant", "content": "x" * 200}, "oops"], "messages[1]"),
        ([{"role": "", "content": "x" * 200}], "messages[0].role"),
        ([{"role": "narrator", "content": "x" * 200}], "messages[0].role"),
        ([{"role": "user", "content": "x" * 200}], "assistant"),  # nothing to train on
    ],
)
def test_invalid_messages_follow_the_shared_contract(messages: object, field: str) -> None:
    with pytest.raises(MalformedLine) as info:
        extract_content({"messages": messages}, min_length=10, max_chars=8192)
    assert info.value.code == "invalid_messages"
    assert field in info.value.reason


def test_preference_records_are_rejected() -> None:
    record = {"prompt": "P" * 60, "chosen": "C" * 60, "rejected": "R" * 60}
    with pytest.raises(MalformedLine) as info:
        extract_content(record, min_length=10, max_chars=8192)
    assert info.value.code == "preference_record"


def test_prompt_completion_kept_as_is() -> None:
    record = {"prompt": "P" * 60, "completion": "C" * 60, "id": 3}
    content = extract_content(record, min_length=100, max_chars=8192)
    assert content.kind == "prompt_completion"
    assert content.fields == {"prompt": "P" * 60, "completion": "C" * 60}
    assert content.text == "P" * 60 + "\n\n" + "C" * 60
    with pytest.raises(MalformedLine) as info:
        extract_content({"prompt": "P" * 60, "completion": 5}, min_length=10, max_chars=8192)
    assert info.value.code == "invalid_prompt_completion"
    assert "completion" in info.value.reason
    empty_prompt = extract_content({"prompt": "", "completion": "C" * 120}, min_length=100, max_chars=8192)
    assert empty_prompt.text == "C" * 120 and empty_prompt.fields == {"prompt": "", "completion": "C" * 120}


def test_a_prompt_without_completion_is_plain_text() -> None:
    content = extract_content({"prompt": "P" * 120}, min_length=100, max_chars=8192)
    assert content.kind == "text" and content.fields == {"text": "P" * 120}


def test_decode_line() -> None:
    assert decode_line(b'\xef\xbb\xbf{"a": 1}\n', first=True) == '{"a": 1}\n'
    assert decode_line("\ufeff{}", first=True) == "{}"
    assert decode_line(" \r\n", first=False) is None
    with pytest.raises(MalformedLine) as info:
        decode_line(b'{"text": "\xff"}', first=False)
    assert info.value.code == "invalid_utf8" and "byte 10" in info.value.reason


@pytest.mark.parametrize(
    ("line", "code", "reason"),
    [
        ("{not json", "invalid_json", "invalid JSON"),
        ('{"a": NaN}', "invalid_json", "NaN"),
        ("[1, 2]", "not_an_object", "got an array"),
        ('"text"', "not_an_object", "got a string"),
        ("null", "not_an_object", "got null"),
        ("3", "not_an_object", "got a number"),
    ],
)
def test_parse_record_rejects(line: str, code: str, reason: str) -> None:
    with pytest.raises(MalformedLine) as info:
        parse_record(line)
    assert info.value.code == code and reason in info.value.reason


def test_excerpt_is_short() -> None:
    assert excerpt("  abc \n") == "abc"
    long = excerpt("z" * 10_000)
    assert long == "z" * 80 + "…"
    assert excerpt(b"\xff" * 500).startswith("\ufffd") and len(excerpt(b"\xff" * 500)) == 81


def test_output_metadata() -> None:
    record = {
        "text": "T" * 200,
        "abstract": "A" * 300,  # body text, too long for metadata
        "url": "https://example.org/x",
        "year": 1921,
        "score": 0.5,
        "flag": True,
        "none": None,
        "tags": ["a", "b"],
        "source_type": "wiki",
        "auth_weight": 0.3,
        "metadata": {"year": 1922, "nested": {"k": 1}},
    }
    assert output_metadata(record, ("text",)) == {
        "url": "https://example.org/x",
        "year": 1922,  # the record's own metadata object wins
        "score": 0.5,
        "flag": True,
        "nested": {"k": 1},
    }
    assert json.dumps(output_metadata(record, ("text",)))
