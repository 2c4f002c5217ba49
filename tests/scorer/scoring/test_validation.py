"""Bad input: every error is an InvalidArgument naming the document index and the field."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from services.scorer.scoring import score_batch, score_document, validate_document
from shared.errors import InvalidArgument

TEXT = "A long enough document about the history of the steam engine and its makers."


def test_text_of_wrong_type_names_index_and_field() -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_document(42, None, index=3)
    assert error.value.param == "documents[3].text"
    assert error.value.message == "documents[3].text: got 42 (int), expected a string"
    assert error.value.type == "invalid_request_error"


def test_text_over_the_size_limit() -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_document("x" * 1_200_000, None, index=3)
    assert error.value.param == "documents[3].text"
    assert error.value.message == "documents[3].text: 1200000 characters, over the 1000000 limit"
    validate_document("x" * 1_000_000, None, index=0)  # at the limit is fine
    with pytest.raises(InvalidArgument, match=r"documents\[0\]\.text: 11 characters, over the 10 limit"):
        score_document("x" * 11, max_chars=10)


@pytest.mark.parametrize(
    ("metadata", "param", "fragment"),
    [
        ([("year", 1990)], "documents[3].metadata", "got [('year', 1990)] (list), expected an object"),
        (
            {"year": 1923.0},
            "documents[3].metadata.year",
            "got 1923.0 (float), expected an integer or a string",
        ),
        ({"year": True}, "documents[3].metadata.year", "got True (bool)"),
        ({"date": ["1923"]}, "documents[3].metadata.date", "(list)"),
        ({"publication_date": 2.5}, "documents[3].metadata.publication_date", "(float)"),
        ({"published": {}}, "documents[3].metadata.published", "(dict)"),
        ({"source_type": 7}, "documents[3].metadata.source_type", "got 7 (int), expected a string"),
        ({"source": 1}, "documents[3].metadata.source", "expected a string"),
        ({"url": b"https://x"}, "documents[3].metadata.url", "(bytes)"),
        ({"publisher": 3}, "documents[3].metadata.publisher", "(int)"),
    ],
)
def test_metadata_fields_of_wrong_type(metadata: object, param: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_document(TEXT, metadata, index=3)
    assert error.value.param == param
    assert error.value.message.startswith(f"{param}: ")
    assert fragment in error.value.message


def test_valid_metadata_and_none_values_pass() -> None:
    validate_document(TEXT, None, index=0)
    validate_document(TEXT, {}, index=0)
    validate_document(TEXT, {"year": 1923, "date": "1923-01-01", "source_type": None, "other": object()}, index=0)
    # None means absent: no hybrid without a source type, and no crash (the reference crashes here).
    assert score_document(TEXT, {"source_type": None}).scoring_method == "dynamic"


def test_score_document_names_its_index() -> None:
    with pytest.raises(InvalidArgument) as error:
        score_document(TEXT, {"year": 1.5}, index=7)
    assert error.value.param == "documents[7].metadata.year"
    with pytest.raises(InvalidArgument) as error:
        score_document(TEXT, known_citation_count=-1, index=2)
    assert error.value.param == "documents[2].known_citation_count"


def test_score_batch_reports_the_bad_document_when_reached() -> None:
    docs = [(TEXT, None), (TEXT, {"year": 1990}), (42, None), (TEXT, None)]
    results = score_batch(docs)
    assert next(results).scoring_method == "dynamic"
    assert next(results).breakdown.year == 1990
    with pytest.raises(InvalidArgument) as error:
        next(results)
    assert error.value.param == "documents[2].text"
    assert error.value.message == "documents[2].text: got 42 (int), expected a string"


@pytest.mark.parametrize("document", ["just text", (TEXT,), (TEXT, None, None), None])
def test_score_batch_needs_pairs(document: object) -> None:
    with pytest.raises(InvalidArgument) as error:
        list(score_batch([(TEXT, None), document]))  # type: ignore[list-item]
    assert error.value.param == "documents[1]"
    assert "expected a (text, metadata) pair" in error.value.message


@pytest.mark.parametrize(
    "call", [lambda: score_document(TEXT, profile="lenient"), lambda: score_batch([], profile="Strict")]
)
def test_unknown_profile_lists_the_allowed_values(call) -> None:  # type: ignore[no-untyped-def]
    # score_batch checks the profile at once, before any document is read.
    with pytest.raises(InvalidArgument) as error:
        call()
    assert error.value.param == "profile"
    assert "'strict', 'reference'" in error.value.message


def test_score_batch_is_lazy_on_an_endless_stream() -> None:
    def endless() -> Iterator[tuple[str, None]]:
        for n in itertools.count():
            yield f"{TEXT} Document number {n}.", None

    first = list(itertools.islice(score_batch(endless(), profile="reference"), 3))
    assert [r.breakdown.text_chars for r in first] == [len(TEXT) + 19] * 3
