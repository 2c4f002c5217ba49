"""OpenAI's attribute filters on a file's attributes: comparisons, compounds, and the errors that name the field."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from services.retrieval.filters import check_filter, matches
from shared.errors import InvalidArgument
from shared.schemas.vector_stores import Filter

READ: TypeAdapter[Filter] = TypeAdapter(Filter)  # type: ignore[arg-type]  # a union, as the request body holds it
LOG = {"kind": "primary", "year": 1923, "public": True}
SUMMARY = {"kind": "secondary", "year": 1990.5}


def f(raw: dict[str, object]) -> Filter:
    return READ.validate_python(raw)


@pytest.mark.parametrize(
    ("raw", "log", "summary"),
    [
        ({"type": "eq", "key": "kind", "value": "primary"}, True, False),
        ({"type": "ne", "key": "kind", "value": "primary"}, False, True),
        ({"type": "lt", "key": "year", "value": 1950}, True, False),
        ({"type": "gte", "key": "year", "value": 1990.5}, False, True),
        ({"type": "in", "key": "kind", "value": ["secondary", "tertiary"]}, False, True),
        ({"type": "nin", "key": "kind", "value": ["secondary"]}, True, False),
        ({"type": "eq", "key": "public", "value": True}, True, False),  # a missing key never matches
        ({"type": "eq", "key": "year", "value": "1923"}, False, False),  # a string is no number
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "public", "value": True},
                    {"type": "and", "filters": [{"type": "gt", "key": "year", "value": 1980}]},
                ],
            },
            True,
            True,
        ),
    ],
)
def test_a_filter_matches_the_files_whose_attributes_pass(raw: dict[str, object], log: bool, summary: bool) -> None:
    node = f(raw)
    assert (matches(node, LOG), matches(node, SUMMARY)) == (log, summary)


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ({"type": "eq", "key": "author", "value": "x"}, "filters.key"),
        (
            {
                "type": "and",
                "filters": [{"type": "eq", "key": "kind", "value": "a"}, {"type": "eq", "key": "nope", "value": 1}],
            },
            "filters.filters[1].key",
        ),
        ({"type": "in", "key": "kind", "value": "primary"}, "filters.value"),
        ({"type": "eq", "key": "kind", "value": ["primary"]}, "filters.value"),
        ({"type": "gt", "key": "public", "value": True}, "filters.value"),
    ],
)
def test_a_bad_filter_names_its_field(raw: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_filter(f(raw), {"kind", "year", "public"})
    assert caught.value.param == param
