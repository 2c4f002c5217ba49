"""MLX inference engine: one base model, many LoRA adapters, continuous batching across adapters and seeds."""

from services.inference.engine.api import Delta, Done, Embeddings, FinishReason, GenerationRequest
from services.inference.engine.engine import Engine
from services.inference.engine.handle import RequestHandle
from services.inference.engine.scheduler import EngineStats

__all__ = ["Delta", "Done", "Embeddings", "Engine", "EngineStats", "FinishReason", "GenerationRequest", "RequestHandle"]
