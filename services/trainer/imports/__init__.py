"""Importing models users already have (GGUF files, Hugging Face and MLX folders) into folders mlx-lm opens."""

from services.trainer.imports.gguf import GgufImport, ImportOptions, import_gguf
from services.trainer.imports.sources import import_model

__all__ = ["GgufImport", "ImportOptions", "import_gguf", "import_model"]
