"""One entry point for every model source: a GGUF file, a model folder, or a tar of one (how folders travel).

`import_model` tells the formats apart by their bytes, not their names, and refuses a pickle checkpoint.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Literal

from services.trainer.imports.folders import import_folder
from services.trainer.imports.gguf import ImportOptions, import_gguf
from services.trainer.imports.header import MAGIC
from shared.archive import checked_members
from shared.errors import InvalidArgument, invalid_field
from shared.schemas.model_import import IMPORT_QUANTIZATIONS, ImportQuantization, ModelProvenance

_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format since PyTorch 1.6
_PICKLE_MAGIC = b"\x80"  # a pickle's PROTO opcode

# A model folder barely compresses (safetensors); an archive that unpacks to 20x its size is a bomb, not a model.
UNPACK_RATIO = 20
UNPACK_SLACK = 64 * 1024**2


def gguf_options(quantization: ImportQuantization) -> ImportOptions:
    """The GGUF options for `quantization`: keep the quantized tensors (float32 beside them), or dequantize."""
    if quantization == "keep":
        return ImportOptions(dtype="float32", keep_quantization=True)
    return ImportOptions(dtype=quantization, keep_quantization=False)


def import_model(
    path: Path, out_dir: Path, quantization: ImportQuantization = "keep", *, file_name: str | None = None
) -> ModelProvenance:
    """Import the GGUF file, model folder or tar of a model folder at `path` into `out_dir`."""
    if quantization not in IMPORT_QUANTIZATIONS:
        raise invalid_field("quantization", quantization, f"one of {', '.join(IMPORT_QUANTIZATIONS)}")
    file_name = file_name or path.name
    if path.is_dir():
        return import_folder(path, out_dir, quantization, file_name)
    if not path.is_file():
        raise invalid_field("file", str(path), "an existing GGUF file or model folder")
    with path.open("rb") as stream:
        head = stream.read(4)
    kind = sniff(head)
    if kind == "gguf":
        result = import_gguf(path, out_dir, gguf_options(quantization))
        return ModelProvenance(
            source="gguf",
            file_name=file_name,
            sha256=result.sha256,
            quantization=result.quantization,
            bits=result.bits,
            dtype=result.dtype,
            parameter_count=result.parameter_count,
            architecture=result.architecture,
        )
    if kind == "pickle":
        raise pickle_refused(file_name)
    if tarfile.is_tarfile(path):
        return _import_tar(path, out_dir, quantization, file_name)
    raise not_a_model(file_name, head)


def sniff(head: bytes) -> Literal["gguf", "pickle", "other"]:
    """What a file's first bytes say it is: a GGUF, a pickle checkpoint (plain or torch's zip), or something else."""
    if head[:4] == MAGIC:
        return "gguf"
    if head[:4] == _ZIP_MAGIC or head[:1] == _PICKLE_MAGIC:
        return "pickle"
    return "other"


def pickle_refused(file_name: str) -> InvalidArgument:
    """The refusal of a pickle checkpoint, naming the file."""
    return InvalidArgument(
        f"file {file_name}: a pickle checkpoint is refused (loading one can run arbitrary code); "
        "convert it to safetensors first",
        param="file",
    )


def not_a_model(file_name: str, head: bytes) -> InvalidArgument:
    """The refusal of a file that is neither a GGUF nor a tar of a model folder, naming it."""
    return InvalidArgument(
        f"file {file_name}: neither a GGUF file (magic {head[:4]!r}) nor a tar of a model folder", param="file"
    )


def _import_tar(path: Path, out_dir: Path, quantization: ImportQuantization, file_name: str) -> ModelProvenance:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    unpacked = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-tar-", dir=out_dir.parent))
    try:
        try:
            with tarfile.open(path) as archive:
                limit = min(UNPACK_RATIO * path.stat().st_size + UNPACK_SLACK, shutil.disk_usage(unpacked).free)
                members = checked_members(archive, max_bytes=limit, file_name=file_name)
                archive.extractall(unpacked, members=members, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise InvalidArgument(f"file {file_name}: a broken tar archive ({exc})", param="file") from exc
        entries = [p for p in unpacked.iterdir() if not p.name.startswith(".")]
        # A tar of the folder itself (one top-level folder) or of its files.
        folder = entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked
        return import_folder(folder, out_dir, quantization, file_name)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
