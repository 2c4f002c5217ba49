"""OpenAI's attribute filters, evaluated on a vector-store file's attributes (filters pick files, then chunks).

A comparison whose attribute is missing on a file, or whose value has another type than the attribute's, is
false for that file (so `ne` does not match a file without the key). Numbers compare as numbers, strings as
strings; `gt`/`lt` on booleans are refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from shared.errors import invalid_field
from shared.schemas.vector_stores import AttributeValue, ComparisonFilter, CompoundFilter, Filter


def filter_keys(node: Filter) -> Iterator[tuple[str, str]]:
    """Every (attribute key, field path) a filter reads, depth first."""

    def walk(item: Filter, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(item, ComparisonFilter):
            yield item.key, f"{path}.key"
            return
        for i, child in enumerate(item.filters):
            yield from walk(child, f"{path}.filters[{i}]")

    yield from walk(node, "filters")


def check_filter(node: Filter, known: set[str]) -> None:
    """InvalidArgument naming the first key that no file of the store has, or a comparison that cannot hold."""
    for key, path in filter_keys(node):
        if key not in known:
            expected = (
                f"one of the store's attribute keys {sorted(known)}" if known else "no filter: no file has attributes"
            )
            raise invalid_field(path, key, expected)
    _check_values(node, "filters")


def _check_values(node: Filter, path: str) -> None:
    if isinstance(node, CompoundFilter):
        for i, child in enumerate(node.filters):
            _check_values(child, f"{path}.filters[{i}]")
        return
    listed = node.type in ("in", "nin")
    if listed != isinstance(node.value, list):
        expected = "a list of values" if listed else "a string, number or boolean (a list only with in / nin)"
        raise invalid_field(f"{path}.value", node.value, expected)
    if node.type in ("gt", "gte", "lt", "lte") and isinstance(node.value, bool):
        raise invalid_field(f"{path}.value", node.value, f"a number or a string for {node.type!r}")


def _same_kind(a: AttributeValue, b: AttributeValue) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return isinstance(a, str) == isinstance(b, str)


def _compare(op: str, have: AttributeValue, want: AttributeValue) -> bool:
    if not _same_kind(have, want):
        return False
    if op == "eq":
        return have == want
    if op == "ne":
        return have != want
    ordered = {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}  # type: ignore[operator]
    return bool(ordered[op])


def matches(node: Filter, attributes: Mapping[str, AttributeValue]) -> bool:
    """Whether a file with `attributes` passes the filter."""
    if isinstance(node, CompoundFilter):
        results = (matches(child, attributes) for child in node.filters)
        return all(results) if node.type == "and" else any(results)
    if node.key not in attributes:
        return False
    have = attributes[node.key]
    if isinstance(node.value, list):
        found = any(_compare("eq", have, v) for v in node.value)
        return found if node.type == "in" else not found
    return _compare(node.type, have, node.value)
