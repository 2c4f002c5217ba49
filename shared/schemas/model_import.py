"""Model imports: what an import should produce (`ImportQuantization`) and where the model came from.

`ModelProvenance` is stored on the base model's registry record and shown by `GET /v1/models/{id}`.
"""

from __future__ import annotations

from typing import Literal

from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import ConfigDict

from shared.pb.distrust.trainer.v1 import import_pb2 as ipb
from shared.schemas.request import RequestModel

# "keep": the file's own storage (quantized tensors stay quantized); else every weight in that training dtype.
ImportQuantization = Literal["keep", "float32", "bfloat16", "float16"]
IMPORT_QUANTIZATIONS: tuple[ImportQuantization, ...] = ("keep", "float32", "bfloat16", "float16")
# What the imported bytes were: a GGUF file, a Hugging Face folder or an MLX-quantized (mlx-community) folder.
SourceFormat = Literal["gguf", "huggingface", "mlx"]


class ModelProvenance(RequestModel):
    """Where a base model came from: the source's format, file name and hash, and what the import found in it."""

    model_config = ConfigDict(frozen=True)

    source: SourceFormat
    file_name: str
    sha256: str
    quantization: str  # the source's main storage: a GGUF tensor type (Q4_1), "mlx-4bit", or a float dtype
    bits: int | None  # the bit width kept quantized in the imported model, None when it is dense
    dtype: str  # the imported model's floating dtype
    parameter_count: int
    architecture: str


def provenance_message(provenance: ModelProvenance) -> ipb.ModelProvenance:
    """The contract message of a model's provenance."""
    return ParseDict(provenance.model_dump(exclude_none=True), ipb.ModelProvenance())


def provenance_from_message(message: ipb.ModelProvenance) -> ModelProvenance:
    """A model's provenance from its contract message."""
    fields = MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    fields["parameter_count"] = int(fields["parameter_count"])  # JSON mapping spells uint64 as a string
    return ModelProvenance.model_validate(fields)
