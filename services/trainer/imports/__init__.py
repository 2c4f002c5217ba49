"""Importing models users already have (GGUF files first) into folders mlx-lm opens."""

from services.trainer.imports.gguf import GgufImport, ImportOptions, import_gguf

__all__ = ["GgufImport", "ImportOptions", "import_gguf"]
