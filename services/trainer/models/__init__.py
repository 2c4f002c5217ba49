"""Base models for the trainer: the default and tiny models' names, the tiny Llama, reading any model folder."""

from services.trainer.models.folder import model_fingerprint
from services.trainer.models.inspect import ModelInfo, inspect_model
from services.trainer.models.names import DEFAULT_MODEL_NAME, TINY_MODEL_NAME
from services.trainer.models.tiny import build_tiny_model

__all__ = [
    "DEFAULT_MODEL_NAME",
    "TINY_MODEL_NAME",
    "ModelInfo",
    "build_tiny_model",
    "inspect_model",
    "model_fingerprint",
]
