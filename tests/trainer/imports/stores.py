"""Tiny Ollama and LM Studio stores in a folder, laid out as those apps write them."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from services.trainer.imports.stores import OLLAMA_MODEL_LAYER, OLLAMA_REGISTRY


def ollama_store(root: Path, gguf: Path, name: str = "tiny", tag: str = "latest") -> Path:
    """An Ollama models folder at `root` holding `gguf` as `name:tag` (manifest + sha256-named blob)."""
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    shutil.copy(gguf, root / "blobs" / f"sha256-{digest}")
    manifest = root / "manifests" / OLLAMA_REGISTRY / "library" / name / tag
    manifest.parent.mkdir(parents=True, exist_ok=True)
    layers = [
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "0" * 64, "size": 1},
        {"mediaType": OLLAMA_MODEL_LAYER, "digest": f"sha256:{digest}", "size": gguf.stat().st_size},
    ]
    manifest.write_text(json.dumps({"schemaVersion": 2, "layers": layers}))
    return root


def lmstudio_store(root: Path, gguf: Path, publisher: str = "lmstudio-community", repo: str = "Tiny-GGUF") -> Path:
    """An LM Studio models folder at `root` holding `gguf` under PUBLISHER/REPO/."""
    folder = root / publisher / repo
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(gguf, folder / gguf.name)
    return root
