"""The bot retrain policy: new examples since the last job that succeeded, age of the last job, running jobs."""

from __future__ import annotations

from services.gateway.bots.drift import record_text
from services.gateway.bots.policy import JobView, decide
from services.gateway.bots.profiles import BotProfile, DataFile, ProfileJob, TrainingPolicy

NOW = 1_000_000


def _profile(policy: TrainingPolicy, examples: list[int], jobs: list[tuple[str, int]]) -> BotProfile:
    return BotProfile(
        name="p",
        alias="p",
        created_at=NOW - 10,
        policy=policy,
        files=[DataFile(file_id=f"file-{i}", examples=n) for i, n in enumerate(examples)],
        jobs=[ProfileJob(job_id=j, files_upto=upto, created_at=NOW) for j, upto in jobs],
    )


def test_only_examples_after_the_last_succeeded_job_count() -> None:
    profile = _profile(TrainingPolicy(min_new_examples=10), [30, 4, 7], [("j1", 1), ("j2", 2)])
    failed = decide(profile, JobView("j2", "failed", NOW - 5), {"j1"}, NOW)
    assert failed.new_examples == 11 and failed.new_files == 2 and failed.should_train  # j2's file is new again
    done = decide(profile, JobView("j2", "succeeded", NOW - 5), {"j1", "j2"}, NOW)
    assert done.new_examples == 7 and not done.should_train and "7 new examples < min_new_examples 10" in done.reasons


def test_a_running_job_blocks_and_age_alone_needs_new_examples() -> None:
    policy = TrainingPolicy(min_new_examples=100, max_hours_between_jobs=1)
    profile = _profile(policy, [5], [("j1", 0)])
    running = decide(profile, JobView("j1", "paused", NOW - 7200), set(), NOW)
    assert not running.should_train and running.reasons == ["job j1 is paused"]
    old = decide(profile, JobView("j1", "succeeded", NOW - 7200), {"j1"}, NOW)
    assert old.should_train and any("2.0 h since the last job" in r for r in old.reasons)
    recent = decide(profile, JobView("j1", "succeeded", NOW - 60), {"j1"}, NOW)
    assert not recent.should_train
    empty = decide(_profile(policy, [], []), None, set(), NOW + 10**6)
    assert not empty.should_train and empty.reasons == ["no new examples since the last job that succeeded"]


def test_loss_drift_is_a_reason_to_train() -> None:
    policy = TrainingPolicy(min_new_examples=100, max_loss_drift=0.5)
    profile = _profile(policy, [5], [("j1", 0)])
    drifted = decide(profile, JobView("j1", "succeeded", NOW), {"j1"}, NOW, drift=0.8)
    assert drifted.should_train and drifted.reasons[-1] == "loss drift on new examples +0.800 >= max_loss_drift 0.5"
    steady = decide(profile, JobView("j1", "succeeded", NOW), {"j1"}, NOW, drift=0.1)
    assert not steady.should_train and steady.reasons[-1].endswith("+0.100 < max_loss_drift 0.5")
    unmeasured = decide(profile, JobView("j1", "succeeded", NOW), {"j1"}, NOW)
    assert not any("drift" in r for r in unmeasured.reasons)


def test_record_text_reads_every_training_shape() -> None:
    assert record_text({"text": "a"}) == "a"
    assert (
        record_text({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}]}) == "q\nr"
    )
    assert record_text({"prompt": "p ", "completion": "c"}) == "p c"
    assert record_text({"input": {}}) is None
