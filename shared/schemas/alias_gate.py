"""An alias gate: a job's alias moves only if its model scores no worse than the alias's current model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.schemas.evaluation import MAX_TASK_LIMIT
from shared.schemas.request import RequestModel

GateMetric = Literal["source_preference.accuracy", "truthfulqa.accuracy", "authority.pass_rate", "censorship.pass_rate"]


class AliasGate(RequestModel):
    """Compare the new model with the alias's current one on a built-in task before moving the alias."""

    metric: GateMetric = Field(description="<task>.<metric> of a built-in evaluation task; higher is better")
    tolerance: float = Field(default=0.0, ge=0.0, le=1.0, description="How much lower the new model may score")
    limit: int | None = Field(default=None, ge=1, le=MAX_TASK_LIMIT, description="At most this many items")

    def task(self) -> dict[str, object]:
        """The evaluation task that measures the metric, named after the metric's task."""
        name = self.metric.split(".")[0]
        task: dict[str, object] = (
            {"type": "suite", "suite": name} if name in ("authority", "censorship") else {"type": name}
        )
        return {**task, "name": name, **({"limit": self.limit} if self.limit is not None else {})}
