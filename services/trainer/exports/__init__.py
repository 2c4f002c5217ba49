"""Model export: fuse a LoRA adapter into its base with mlx-lm, optionally quantize, optionally write GGUF.

Domain code only (no RPC, web or queue imports): `ExportOptions` validates a request's options,
`fuse_adapter` writes a model folder `mlx_lm.load` reads, `export_gguf` writes a GGUF file from such a folder.
"""

from services.trainer.exports.fuse import ExportResult, fuse_adapter
from services.trainer.exports.gguf import SUPPORTED_ARCHITECTURES, check_gguf_support, export_gguf
from services.trainer.exports.options import DTYPES, GROUP_SIZES, QUANTIZE_BITS, ExportOptions

__all__ = [
    "DTYPES",
    "GROUP_SIZES",
    "QUANTIZE_BITS",
    "SUPPORTED_ARCHITECTURES",
    "ExportOptions",
    "ExportResult",
    "check_gguf_support",
    "export_gguf",
    "fuse_adapter",
]
