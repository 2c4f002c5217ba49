"""Replica choice: rendezvous order per key, a busy first choice passed over, a failed replica left out."""

from __future__ import annotations

from collections import Counter

from services.gateway.replicas import InferenceRouter, targets_of

TARGETS = ["10.0.0.1:50153", "10.0.0.2:50153", "10.0.0.3:50153"]


def test_keys_spread_and_stay_put_when_another_replica_leaves() -> None:
    router = InferenceRouter(TARGETS)
    keys = [f"base|ft:base:a{i}" for i in range(300)]
    first = {k: router.ranked(k)[0].target for k in keys}
    assert min(Counter(first.values()).values()) > 60  # spread over all three
    router.replicas[2].healthy = False
    after = {k: router.ranked(k)[0].target for k in keys}
    assert all(after[k] == first[k] for k in keys if first[k] != TARGETS[2])  # only the dead one's keys move
    assert TARGETS[2] not in after.values()


def test_a_much_busier_first_choice_hands_its_turn_on() -> None:
    router = InferenceRouter(TARGETS, slack=4)
    key = "base|ft:base:a1"
    own = router.ranked(key)[0]
    assert router.pick("alice", "x")[0] is router.ranked("x")[0]
    router.key_of = lambda _owner, _model: key
    own.load = 4
    assert router.pick("alice", "m")[0] is own  # within the slack: affinity wins
    own.load = 5
    picked = router.pick("alice", "m")
    assert picked[0] is not own and picked[-1] is own  # still tried, last


def test_targets_are_a_comma_separated_list() -> None:
    assert targets_of(" a:1, b:2 ,a:1,") == ["a:1", "b:2"]
    assert len(InferenceRouter(["a:1"]).replicas) == 1
