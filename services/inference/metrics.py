"""Prometheus metrics of the inference service: the engine's counters read at scrape time, and time to first token.

Counters the engine keeps anyway (steps, tokens, prefill, cache hits) are read when Prometheus scrapes, so the
decode loop pays nothing for them; only the batch size of each step is tallied there (one dict increment).
"""

from __future__ import annotations

from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from services.inference.models import ModelManager

PREFIX = "distrust_inference"
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _histogram(sizes: dict[int, int]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative buckets and the sum of decode-step batch sizes, from size -> number of steps."""
    buckets = [(str(b), float(sum(n for size, n in sizes.items() if size <= b))) for b in BATCH_BUCKETS]
    buckets.append(("+Inf", float(sum(sizes.values()))))
    return buckets, float(sum(size * n for size, n in sizes.items()))


class EngineCollector(Collector):
    """The loaded engine's counters, labelled with its base model; nothing but the adapter counts before one loads."""

    def __init__(self, models: ModelManager) -> None:
        self.models = models

    def collect(self) -> Iterator[Metric]:
        """One family per counter, read now."""
        yield CounterMetricFamily(
            f"{PREFIX}_adapter_cache_hits", "Requests whose adapter was loaded", value=self.models.adapter_hits
        )
        yield CounterMetricFamily(
            f"{PREFIX}_adapter_cache_misses", "Requests that loaded their adapter", value=self.models.adapter_misses
        )
        current = self.models.current()
        if current is None:
            return
        base, engine = current
        stats = engine.stats()
        counters = {
            "steps": ("Decode steps (batched forward passes)", stats.steps),
            "generated_tokens": ("Tokens generated", stats.generated_tokens),
            "prefill_tokens": ("Prompt tokens run through the model", stats.prefill_tokens),
            "prefix_cache_hits": ("Requests that reused a cached prompt prefix", stats.prefix_hits),
            "prefix_cache_hit_tokens": ("Prompt tokens served from the prefix cache", stats.prefix_hit_tokens),
            "prefix_cache_evictions": ("Prefix-cache blocks evicted", stats.prefix_evictions),
            "adapter_cache_evictions": ("Adapters evicted from the cache", stats.adapter_evictions),
        }
        for name, (documentation, value) in counters.items():
            family = CounterMetricFamily(f"{PREFIX}_{name}", documentation, labels=["base_model"])
            family.add_metric([base], value)
            yield family
        gauges = {
            "queue_depth": ("Requests waiting for a batch slot", stats.queued),
            "active_requests": ("Requests queued or generating", engine.active_requests()),
            "loaded_adapters": ("Adapters in the cache", len(engine.loaded_adapters())),
            "prefix_cache_bytes": ("Bytes held by the prefix cache", stats.prefix_cache_bytes),
        }
        for name, (documentation, value) in gauges.items():
            gauge = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=["base_model"])
            gauge.add_metric([base], value)
            yield gauge
        batch = HistogramMetricFamily(f"{PREFIX}_step_batch_size", "Rows in each decode step", labels=["base_model"])
        buckets, total = _histogram(stats.step_batch_sizes)
        batch.add_metric([base], buckets, total)
        yield batch


class InferenceMetrics:
    """The service's registry: the engine collector and the time-to-first-token histogram, served over HTTP."""

    def __init__(self, models: ModelManager) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(EngineCollector(models))
        self.time_to_first_token = Histogram(
            f"{PREFIX}_time_to_first_token_seconds",
            "From the request's arrival to its first generated text",
            buckets=TTFT_BUCKETS,
            registry=self.registry,
        )
        self._server: WSGIServer | None = None

    def serve(self, host: str, port: int) -> int:
        """Serve /metrics on `port` (0: a free one); returns the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return int(server.server_port)

    def stop(self) -> None:
        """Stop serving /metrics."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
