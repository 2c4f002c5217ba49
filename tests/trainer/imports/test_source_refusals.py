"""Bad sources are refused naming the file or field, and leave nothing behind."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import pytest

from services.trainer.imports import ImportOptions, import_gguf
from services.trainer.imports.sources import import_model
from shared.errors import InvalidArgument
from tests.trainer.imports.builders import hf_weights, write_gguf


def refused(source: Path, match: str) -> InvalidArgument:
    out = source.parent / "out"
    with pytest.raises(InvalidArgument, match=match) as caught:
        import_model(source, out)
    assert not out.exists()
    assert not [p for p in source.parent.iterdir() if p.name.startswith(".out-")], "a staging folder was left"
    return caught.value


@pytest.fixture
def hf_folder(tmp_path: Path) -> Path:
    path = write_gguf(tmp_path / "m.gguf", hf_weights("llama"))
    return import_gguf(path, tmp_path / "hf", ImportOptions(keep_quantization=False)).model_dir


def test_pickle_checkpoint_folder_names_the_file(hf_folder: Path) -> None:
    (hf_folder / "model.safetensors").unlink()
    (hf_folder / "pytorch_model.bin").write_bytes(pickle.dumps({"w": [1.0]}))
    error = refused(hf_folder, r"file pytorch_model\.bin: a pickle checkpoint is refused")
    assert error.param == "file"


def test_a_pickle_file_uploaded_alone(tmp_path: Path) -> None:
    (tmp_path / "model.pt").write_bytes(pickle.dumps({"w": [1.0]}))
    refused(tmp_path / "model.pt", r"file model\.pt: a pickle checkpoint is refused")


def test_folder_without_weights(hf_folder: Path) -> None:
    (hf_folder / "model.safetensors").unlink()
    refused(hf_folder, r"file hf: the folder holds no weights")


def test_folder_without_config(hf_folder: Path) -> None:
    (hf_folder / "config.json").unlink()
    refused(hf_folder, r"file hf: the folder has no config\.json")


def test_neither_gguf_nor_tar(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello, not a model")
    refused(tmp_path / "notes.txt", r"file notes\.txt: neither a GGUF file")


def test_unknown_quantization_names_the_field(hf_folder: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"quantization: got 'int3'") as caught:
        import_model(hf_folder, hf_folder.parent / "out", "int3")  # type: ignore[arg-type]  # bad value on purpose
    assert caught.value.param == "quantization"


def _tar(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _entry(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, link
    return info


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        (_entry("../escape.json", 2), "points outside it"),
        (_entry("/etc/passwd.json", 2), "points outside it"),
        (_entry("m/config.json", kind=tarfile.SYMTYPE, link="/etc/passwd"), "is a link"),
        (_entry("m/hard", kind=tarfile.LNKTYPE, link="m/config.json"), "is a link"),
        (_entry("m/dev", kind=tarfile.CHRTYPE), "is a device or special file"),
    ],
)
def test_an_archive_with_unsafe_entries_is_refused_before_unpacking(
    entry: tarfile.TarInfo, match: str, tmp_path: Path
) -> None:
    archive = _tar(tmp_path / "m.tar.gz", (_entry("m/ok.txt", 2), b"ok"), (entry, b"{}" if entry.size else None))
    error = refused(archive, match)
    assert error.param == "file" and "m.tar.gz" in error.message


def test_a_zip_bomb_is_refused_from_its_headers(tmp_path: Path) -> None:
    zeros = bytes(200 * 1024**2)  # compresses to ~200 KB: far beyond what a model folder's archive unpacks to
    archive = _tar(tmp_path / "bomb.tar.gz", (_entry("m/model.safetensors", len(zeros)), zeros))
    assert archive.stat().st_size < 1024**2
    refused(archive, "unpacks to more than")
