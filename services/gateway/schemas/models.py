"""The Models API's body: OpenAI's Model, plus what we know of each model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.schemas.model_import import ModelProvenance


class ModelLoad(BaseModel):
    """What loading a model on the inference service did: loaded, pinned, and the adapter cache's fill."""

    model: str
    loaded: bool
    pinned: bool
    cache_size: int
    cache_capacity: int


class InferenceState(BaseModel):
    """The inference service now: its base model, your adapters in its cache, and its request queue."""

    base_model: str | None
    adapters: dict[str, bool] = Field(description="Your cached adapters: name → pinned")
    cache_size: int
    cache_capacity: int
    active_requests: int
    queued_requests: int


class Model(BaseModel):
    """A model you can pass as `model`: a base model, one of your fine-tuned adapters, or an embeddings model."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = Field(description='"system" for base models, else the owner of the fine-tuned model')
    parent: str | None = Field(
        default=None, description="For a fine-tuned model: its base model's id; for an alias: the model it points at"
    )
    kind: Literal["base", "adapter", "alias", "embedding"]
    context_length: int | None = Field(default=None, description="Context length in tokens, when known")
    provenance: ModelProvenance | None = Field(
        default=None, description="For an imported base model: its source, file, hash and quantization"
    )
