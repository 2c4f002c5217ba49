"""Model export: fuse a LoRA adapter into its base with mlx-lm, optionally quantize, optionally write GGUF.

Domain code only (no RPC, web or queue imports): `fuse_adapter` writes a model folder `mlx_lm.load` reads,
`export_gguf` writes a GGUF file from such a folder; `shared.schemas.export.ExportOptions` says what to write.
"""

from services.trainer.exports.fuse import ExportResult, fuse_adapter
from services.trainer.exports.gguf import SUPPORTED_ARCHITECTURES, check_gguf_support, export_gguf

__all__ = [
    "SUPPORTED_ARCHITECTURES",
    "ExportResult",
    "check_gguf_support",
    "export_gguf",
    "fuse_adapter",
]
