"""A fine-tuning job trained data-parallel over several workers at once (`mx.distributed`, one rank per worker)."""

from __future__ import annotations

from pydantic import Field

from shared.schemas.request import RequestModel

MAX_HOSTS = 16


class DistributedSpec(RequestModel):
    """How many workers train the job together; each takes its share of every batch."""

    hosts: int = Field(ge=2, le=MAX_HOSTS, description="Workers (ranks) training together, each holding the model")
