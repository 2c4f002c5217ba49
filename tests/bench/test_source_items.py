"""The DPO effect bench's items: topics split without overlap, and the provenance rule prefers each primary answer."""

from __future__ import annotations

import json

from bench.source_items import TOPICS, UNSEEN_ACCOUNTS, candidates, split_items
from services.scorer.pair_files import pairs_from
from shared.schemas.preference_pairs import PairOptions


def test_held_out_topics_never_appear_in_training() -> None:
    items = split_items(3)
    train = {i["question"].split(" when ")[1] for i in items.train}
    held = {i["question"].split(" when ")[1] for i in items.held_out}
    assert not train & held and len(train) + len(held) == len(TOPICS)
    assert all(i["options"][i["primary_index"]] in {t[2] for t in TOPICS} for i in items.train + items.held_out)
    assert split_items(3) == items and split_items(4) != items


def test_the_provenance_rule_prefers_the_primary_answer_of_every_item() -> None:
    items = split_items(0).train
    made, report = pairs_from(
        [json.dumps(candidates(i)).encode() for i in items], PairOptions(rule="provenance"), profile="strict"
    )
    assert report.pairs == len(items) and report.ties == 0
    for pair, source in zip(made, items, strict=True):
        primary = source["options"][source["primary_index"]]
        assert primary in pair["preferred_output"][0]["content"]
        assert primary not in pair["non_preferred_output"][0]["content"]


def test_unseen_accounts_never_appear_in_training_and_leave_training_items_alone() -> None:
    plain, unseen = split_items(1), split_items(1, unseen_accounts=True)
    assert unseen.train == plain.train
    trained_options = {option for i in unseen.train for option in i["options"]}
    held_later = {o for i in unseen.held_out for k, o in enumerate(i["options"]) if k != i["primary_index"]}
    assert held_later <= set(UNSEEN_ACCOUNTS) and not held_later & trained_options
