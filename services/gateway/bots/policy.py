"""Whether a bot's model is due for training, with the reasons, from its profile's stated policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.gateway.bots.profiles import BotProfile

ACTIVE = ("validating_files", "queued", "running", "paused")


@dataclass(frozen=True)
class JobView:
    """What the policy needs of the profile's latest job."""

    id: str
    status: str
    created_at: int


@dataclass
class Decision:
    """The answer of `should-train`: train or not, why, and the counts it looked at."""

    should_train: bool
    reasons: list[str] = field(default_factory=list)
    new_examples: int = 0
    new_files: int = 0


def new_files(profile: BotProfile, succeeded: set[str]) -> int:
    """The index of the first data file no succeeded job covered (files after it are new)."""
    covered = [job.files_upto for job in profile.jobs if job.job_id in succeeded]
    return max(covered, default=0)


def decide(
    profile: BotProfile, latest: JobView | None, succeeded: set[str], now: int, drift: float | None = None
) -> Decision:
    """Apply the profile's policy: a running job blocks; otherwise any of its reasons trains.

    The reasons: enough new examples; any new example once the last job is old enough; new examples whose loss
    under the served model has drifted above its last job's (`drift`).
    """
    start = new_files(profile, succeeded)
    fresh = profile.files[start:]
    examples = sum(f.examples for f in fresh)
    decision = Decision(should_train=False, new_examples=examples, new_files=len(fresh))
    policy = profile.policy
    if latest is not None and latest.status in ACTIVE:
        decision.reasons.append(f"job {latest.id} is {latest.status}")
        return decision
    if examples == 0:
        decision.reasons.append("no new examples since the last job that succeeded")
        return decision
    if examples >= policy.min_new_examples:
        decision.should_train = True
        decision.reasons.append(f"{examples} new examples >= min_new_examples {policy.min_new_examples}")
    else:
        decision.reasons.append(f"{examples} new examples < min_new_examples {policy.min_new_examples}")
    if policy.max_hours_between_jobs is not None:
        last = latest.created_at if latest is not None else profile.created_at
        hours = (now - last) / 3600
        if hours >= policy.max_hours_between_jobs:
            decision.should_train = True
            decision.reasons.append(
                f"{hours:.1f} h since the last job >= max_hours_between_jobs {policy.max_hours_between_jobs}"
            )
    if policy.max_loss_drift is not None and drift is not None:
        drifted = drift >= policy.max_loss_drift
        decision.should_train = decision.should_train or drifted
        verdict = ">=" if drifted else "<"
        decision.reasons.append(
            f"loss drift on new examples {drift:+.3f} {verdict} max_loss_drift {policy.max_loss_drift}"
        )
    return decision
