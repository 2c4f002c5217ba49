"""Base models for the trainer: the built-in tiny Llama, and reading any model folder without loading it."""

from services.trainer.models.folder import model_fingerprint
from services.trainer.models.inspect import ModelInfo, inspect_model
from services.trainer.models.tiny import DEFAULT_MODEL_NAME, build_tiny_model

__all__ = ["DEFAULT_MODEL_NAME", "ModelInfo", "build_tiny_model", "inspect_model", "model_fingerprint"]
