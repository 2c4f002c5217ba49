"""A training machine and what it can train: hardware, the memory estimate of a step, and recommended settings.

`WorkerHardware` is what each trainer worker publishes about its machine (and the trainer server about its own
when no worker has); `HardwareRecommendation` is the settings recommended for one of them. Each model has a
message of the same fields in protos/distrust/trainer/v1/hardware.proto.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, computed_field

from shared.schemas.blas_kind import BlasKind
from shared.schemas.fine_tuning import TrainingDtype

GB = 1e9
# MLX's device info, each value a JSON scalar; the keys are whatever the MLX build reports.
DeviceInfo: TypeAlias = dict[str, int | float | str | bool]
# "worker": a Celery worker's own report; "trainer": the trainer server's machine, shown while no worker reports.
HardwareRole = Literal["worker", "trainer"]


class Hardware(BaseModel):
    """What a machine offers a training job: CPUs, memory and the MLX device."""

    model_config = ConfigDict(frozen=True)

    os: str  # "darwin", "linux", or platform.system() lower-cased
    machine: str  # "arm64", "x86_64", "aarch64", ...
    cpu_count: int
    total_memory_bytes: int
    available_memory_bytes: int
    chip: str | None = None  # "Apple M2 Pro", "AMD EPYC 7B13", ...
    unified_memory: bool = False  # Apple silicon: the GPU shares RAM with the CPU
    memory_source: str = "unknown"  # "meminfo", "cgroup", "sysctl", "psutil", "sysconf"
    mlx_device: str | None = None  # "gpu" or "cpu"; None when MLX is not importable
    metal_available: bool = False
    gpu_working_set_bytes: int | None = None  # Metal's max recommended working set
    device_info: DeviceInfo = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values."""
        return self.model_dump()

    def describe(self) -> str:
        """One line: chip, CPUs, memory and the MLX device."""
        total, free = self.total_memory_bytes / GB, self.available_memory_bytes / GB
        memory = f"{total:.1f} GB RAM ({free:.1f} GB free)"
        if self.unified_memory:
            memory = f"{total:.1f} GB unified memory"
        device = f"MLX on {self.mlx_device}" if self.mlx_device else "MLX not available"
        return f"{self.chip or self.machine}, {self.cpu_count} CPUs, {memory}, {device} ({self.os}/{self.machine})"


class MemoryEstimate(BaseModel):
    """Peak memory of one training step, by part, with the settings it was estimated for."""

    model_config = ConfigDict(frozen=True)

    weights_bytes: int
    lora_bytes: int
    activations_bytes: int
    attention_bytes: int
    logits_bytes: int
    overhead_bytes: int
    lora_parameters: int
    batch_size: int
    seq_len: int
    lora_rank: int
    lora_layers: int  # adapted blocks (all of them when the request said None)
    dtype_bytes: int
    quantize_bits: int | None = None  # QLoRA: the base quantized to these bits at load
    checkpointing: bool = False  # gradient checkpointing

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form for a computed property
    @property
    def total_bytes(self) -> int:
        """The sum of the parts."""
        return (
            self.weights_bytes
            + self.lora_bytes
            + self.activations_bytes
            + self.attention_bytes
            + self.logits_bytes
            + self.overhead_bytes
        )

    def to_dict(self) -> dict[str, Any]:
        """The parts, the total, and the total in GB (for logs)."""
        return {**self.model_dump(), "total_gb": round(self.total_bytes / GB, 3)}


class Recommendation(BaseModel):
    """Training settings that fit the memory budget, with the estimate that shows they do."""

    model_config = ConfigDict(frozen=True)

    batch_size: int
    lora_rank: int
    lora_layers: int
    grad_accumulation: int
    dtype: TrainingDtype  # "float32" (MLX on a CPU is fastest in it), "bfloat16" (Apple GPU) or as requested
    seq_len: int
    budget_bytes: int
    estimate: MemoryEstimate
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The settings and the estimate as plain JSON values."""
        return {**self.model_dump(exclude={"estimate"}), "estimate": self.estimate.to_dict()}


class WorkerHardware(BaseModel):
    """One training machine as its worker reports it: hardware, the memory budget it enforces and its BLAS."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The worker: `hostname:pid`")
    hostname: str
    role: HardwareRole = Field(
        description="`worker`, or `trainer` for the trainer server's machine while no worker reports"
    )
    hardware: Hardware
    budget_bytes: int = Field(description="The memory a training job may use there")
    budget_configured: bool = Field(
        default=False, description="Whether the budget is DISTRUST_TRAINER_MEMORY_BUDGET_GB, not 80 % of what is free"
    )
    blas: str = Field(description="The BLAS MLX's CPU backend uses there, in words")
    blas_kind: BlasKind
    updated_at: int = Field(description="When it was reported (Unix seconds)")
    queues: list[str] = Field(default_factory=list, description="The Celery queues it consumes (memory tiers)")
    current_job: str | None = Field(default=None, description="The job it is running now; None when idle")

    def describe(self) -> str:
        """One line: which worker, its machine and its budget."""
        return f"{self.role} {self.id}: {self.hardware.describe()}; budget {self.budget_bytes / GB:.2f} GB"


class HardwareRecommendation(BaseModel):
    """Settings recommended for training a model on one worker's machine, with that machine."""

    worker: WorkerHardware
    recommendation: Recommendation
