"""Model imports: what an import should produce (`ImportQuantization`) and where the model came from.

`ModelProvenance` is stored on the base model's registry record and shown by `GET /v1/models/{id}`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

# "keep": the file's own storage (quantized tensors stay quantized); else every weight in that training dtype.
ImportQuantization = Literal["keep", "float32", "bfloat16", "float16"]
IMPORT_QUANTIZATIONS: tuple[ImportQuantization, ...] = ("keep", "float32", "bfloat16", "float16")
# What the imported bytes were: a GGUF file, a Hugging Face folder or an MLX-quantized (mlx-community) folder.
SourceFormat = Literal["gguf", "huggingface", "mlx"]


class ModelProvenance(BaseModel):
    """Where a base model came from: the source's format, file name and hash, and what the import found in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: SourceFormat
    file_name: str
    sha256: str
    quantization: str  # the source's main storage: a GGUF tensor type (Q4_1), "mlx-4bit", or a float dtype
    bits: int | None  # the bit width kept quantized in the imported model, None when it is dense
    dtype: str  # the imported model's floating dtype
    parameter_count: int
    architecture: str
