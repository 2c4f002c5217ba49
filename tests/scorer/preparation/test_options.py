"""Option validation: every bad value names the option, the value and the allowed range."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.scorer.preparation import PrepareOptions
from shared.errors import InvalidArgument


def test_defaults_follow_the_reference() -> None:
    options = PrepareOptions()
    assert options.model_dump(mode="json") == {
        "profile": "strict",
        "min_length": 100,
        "max_chars": 8192,
        "targets": [0.25, 0.4, 0.35],
        "val_fraction": 0.2,
        "seed": 42,
        "strict": False,
        "dedup": True,
        "rebalance": True,
        "keep_existing_scores": False,
    }


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("profile", "lenient", "['strict', 'reference']"),
        ("profile", None, "['strict', 'reference']"),
        ("min_length", 0, "[1, max_chars=8192]"),
        ("min_length", 9000, "[1, max_chars=8192]"),
        ("min_length", 10.5, "[1, max_chars=8192]"),
        ("min_length", True, "[1, max_chars=8192]"),
        ("max_chars", 0, "[1, 1000000]"),
        ("max_chars", 2_000_000, "[1, 1000000]"),
        ("max_chars", "8192", "[1, 1000000]"),
        ("targets", (0.25, 0.4), "three positive numbers"),
        ("targets", (0.25, 0.4, 0.3), "sum to 0.95"),
        ("targets", (0.0, 0.65, 0.35), "three positive numbers"),
        ("targets", (-0.1, 0.75, 0.35), "three positive numbers"),
        ("targets", (0.25, float("nan"), 0.35), "three positive numbers"),
        ("targets", "abc", "three positive numbers"),
        ("targets", (0.25, "0.4", 0.35), "three positive numbers"),
        ("val_fraction", 0.6, "[0.0, 0.5]"),
        ("seed", -1, "[0, 9223372036854775807]"),
        ("seed", 2**63, "[0, 9223372036854775807]"),
        ("seed", 1.0, "[0, 9223372036854775807]"),
        ("strict", "yes", "true or false"),
        ("dedup", 1, "true or false"),
        ("rebalance", None, "true or false"),
        ("keep_existing_scores", 0, "true or false"),
    ],
)
def test_bad_values_name_the_option(field: str, value: object, expected: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        PrepareOptions(**{field: value})
    assert info.value.param == field
    assert info.value.message.startswith(f"{field}: got {value!r}")
    assert expected in info.value.message


def test_min_length_range_follows_max_chars() -> None:
    assert PrepareOptions(min_length=50, max_chars=50).min_length == 50
    with pytest.raises(InvalidArgument) as info:
        PrepareOptions(min_length=51, max_chars=50)
    assert info.value.param == "min_length" and "max_chars=50" in info.value.message


def test_targets_are_normalised_to_a_float_tuple_within_tolerance() -> None:
    assert PrepareOptions(targets=[0.5, 0.25, 0.25]).targets == (0.5, 0.25, 0.25)  # type: ignore[arg-type]
    near = PrepareOptions(targets=(0.25, 0.4, 0.3500005))
    assert isinstance(near.targets, tuple) and all(isinstance(t, float) for t in near.targets)
    with pytest.raises(InvalidArgument):
        PrepareOptions(targets=(0.25, 0.4, 0.350002))


def test_from_mapping() -> None:
    options = PrepareOptions.from_mapping({"seed": 7, "targets": [0.3, 0.4, 0.3], "strict": True})
    assert (options.seed, options.targets, options.strict) == (7, (0.3, 0.4, 0.3), True)
    assert PrepareOptions.from_mapping(None) == PrepareOptions()
    with pytest.raises(InvalidArgument) as info:
        PrepareOptions.from_mapping({"sed": 7})
    assert info.value.param == "sed" and "'seed'" in info.value.message
    with pytest.raises(InvalidArgument) as info:
        PrepareOptions.from_mapping({"val_fraction": 2})
    assert info.value.param == "val_fraction"


def test_options_are_frozen() -> None:
    with pytest.raises(ValidationError):
        PrepareOptions().seed = 3  # type: ignore[misc]
