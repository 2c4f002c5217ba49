"""Settings of the inference service (env prefix `DISTRUST_INFERENCE_`)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class InferenceSettings(ServiceSettings):
    """Settings of the inference service (env prefix DISTRUST_INFERENCE_)."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_INFERENCE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=50153, ge=0, le=65535)
    # Each running Generate call holds a thread: room for the interactive and the batch lanes and their queues.
    max_workers: int = Field(default=96, ge=1, le=512)
    # Prometheus /metrics over HTTP on this port (0 = a free port, logged); unset = not served.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # Base models this service may load (comma-separated names); empty = every registered base model.
    allowed_models: str = ""
    max_batch_size: int = Field(default=8, ge=1, le=256)
    # Rows the Batch API's requests may fill the decode batch up to, behind interactive ones (throughput, not
    # latency; under max_batch_size means max_batch_size).
    batch_lane_size: int = Field(default=32, ge=1, le=256)
    # Requests waiting for a batch slot beyond which new ones get a 503 at once (0 = no bound).
    max_queued_requests: int = Field(default=256, ge=0)
    adapter_cache_size: int = Field(default=8, ge=1, le=1024)
    default_max_tokens: int = Field(default=256, ge=1)
    # Most choices (`n`) one request may ask for; they share one prefill. `n` x `max_tokens` is also capped by
    # `max_n_tokens` (0 = only by the context length: prompt + n x max_tokens must fit in it).
    max_n: int = Field(default=16, ge=1, le=128)
    max_n_tokens: int = Field(default=0, ge=0)
    # Prefix cache: KV of prompt prefixes reused across requests of the same base and adapter, in blocks of
    # `prefix_cache_block` tokens, least recently used evicted beyond `prefix_cache_bytes` (0 = off).
    prefix_cache_bytes: int = Field(default=256 * 2**20, ge=0)
    prefix_cache_block: int = Field(default=32, ge=1, le=4096)
    # Text deltas of one stream are merged so that at most one message goes out per interval (0 = every token);
    # the first delta and the end are never delayed.
    stream_interval_ms: int = Field(default=20, ge=0, le=1000)
    cache_dir: Path | None = None
    # How long a switch to another base model waits for the current base's running requests before cancelling them.
    base_switch_timeout_s: float = Field(default=120.0, ge=0)
    # BLAS threads (MKL or OpenBLAS) for MLX's CPU matmuls (0 = the library's default, one per core). Idle threads
    # spin, which on a small shared machine costs the other processes more than small decode batches gain.
    blas_threads: int = Field(default=0, ge=0, le=256)

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "cache"

    def apply_blas_threads(self) -> None:
        """Set the BLAS thread count; call before anything imports MLX (the library reads it once, when loaded)."""
        if self.blas_threads:
            os.environ["OPENBLAS_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(self.blas_threads)

    def allowed(self) -> set[str]:
        return {name.strip() for name in self.allowed_models.split(",") if name.strip()}
