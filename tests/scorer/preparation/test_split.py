"""Train / validation split: sizes, edge cases, seeded shuffle."""

from __future__ import annotations

import random

import pytest

from services.scorer.preparation import PrepareOptions, RawInput, prepare_dataset, split_sizes
from services.scorer.preparation.split import shuffle_and_split
from shared.errors import FailedPrecondition, InvalidArgument


def test_one_record_goes_to_train_with_a_warning() -> None:
    n_train, n_val, warnings = split_sizes(1, 0.2)
    assert (n_train, n_val) == (1, 0)
    assert len(warnings) == 1 and "only 1 record" in warnings[0]


def test_two_records_give_one_and_one() -> None:
    n_train, n_val, warnings = split_sizes(2, 0.2)
    assert (n_train, n_val) == (1, 1)
    assert "adjusted" in warnings[0]  # 0.4 rounds to 0, raised to 1


@pytest.mark.parametrize(
    ("n", "fraction", "expected"),
    [
        (10, 0.2, (8, 2)),
        (100, 0.2, (80, 20)),
        (7, 0.2, (6, 1)),
        (3, 0.5, (1, 2)),
        (5, 0.1, (4, 1)),
        (9, 0.5, (4, 5)),
    ],
)
def test_small_sizes(n: int, fraction: float, expected: tuple[int, int]) -> None:
    assert split_sizes(n, fraction)[:2] == expected


def test_zero_fraction_puts_everything_in_train_silently() -> None:
    assert split_sizes(5, 0.0) == (5, 0, [])
    assert split_sizes(1, 0.0) == (1, 0, [])


def test_no_records_is_an_error() -> None:
    with pytest.raises(FailedPrecondition):
        split_sizes(0, 0.2)


def test_train_is_never_empty() -> None:
    for n in range(1, 60):
        for fraction in (0.0, 0.01, 0.1, 0.2, 0.33, 0.49, 0.5):
            n_train, n_val, _ = split_sizes(n, fraction)
            assert n_train >= 1 and n_val >= 0 and n_train + n_val == n
            if fraction > 0 and n >= 2:
                assert n_val >= 1


@pytest.mark.parametrize("fraction", [-0.01, 0.51, 1.0, float("nan"), float("inf"), "0.2", True, None])
def test_val_fraction_out_of_bounds_is_rejected(fraction: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        PrepareOptions(val_fraction=fraction)  # type: ignore[arg-type]
    assert info.value.param == "val_fraction"
    assert "[0.0, 0.5]" in info.value.message


@pytest.mark.parametrize("fraction", [0, 0.0, 0.5])
def test_val_fraction_bounds_are_inclusive(fraction: float) -> None:
    assert PrepareOptions(val_fraction=fraction).val_fraction == float(fraction)


def test_shuffle_and_split_is_seeded_and_loses_nothing() -> None:
    items = list(range(50))
    train, val, _ = shuffle_and_split(items, 0.2, random.Random(3))
    again = shuffle_and_split(items, 0.2, random.Random(3))
    other = shuffle_and_split(items, 0.2, random.Random(4))
    assert (train, val) == again[:2]
    assert (train, val) != other[:2]
    assert len(train) == 40 and len(val) == 10
    assert sorted(train + val) == items
    assert train + val != items  # actually shuffled


def test_pipeline_with_one_record(fake_score, lines_of) -> None:
    result = prepare_dataset([RawInput("x.jsonl", lines_of(low=1))], PrepareOptions(), score=fake_score)
    assert len(result.train) == 1 and result.val == []
    assert result.report["split"] == {"train": 1, "val": 0, "val_fraction": 0.2, "seed": 42}
    assert any("only 1 record" in w for w in result.report["warnings"])


def test_pipeline_with_two_records(fake_score, lines_of) -> None:
    result = prepare_dataset(
        [RawInput("x.jsonl", lines_of(low=1, mid=1))], PrepareOptions(rebalance=False), score=fake_score
    )
    assert len(result.train) == 1 and len(result.val) == 1
