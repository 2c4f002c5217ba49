"""Models users already have on disk: the local Ollama store and LM Studio's models folders.

Both resolve to one GGUF file, which is then imported like any other.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from shared.errors import InvalidArgument, NotFound, invalid_field

OLLAMA_REGISTRY = "registry.ollama.ai"
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
_OLLAMA_NAME = re.compile(r"^(?:(?P<namespace>[\w.-]+)/)?(?P<model>[\w.-]+)(?::(?P<tag>[\w.-]+))?$")


@dataclass(frozen=True)
class StoredModel:
    """A GGUF found in a local model store, and the name the user gave it there (for the default model name)."""

    path: Path
    display_name: str


def ollama_root() -> Path:
    """Ollama's models folder: $OLLAMA_MODELS, else ~/.ollama/models."""
    return Path(os.environ.get("OLLAMA_MODELS") or Path.home() / ".ollama" / "models")


def lmstudio_roots() -> list[Path]:
    """LM Studio's models folders, newest layout first."""
    return [Path.home() / ".lmstudio" / "models", Path.home() / ".cache" / "lm-studio" / "models"]


def resolve_ollama(name: str, root: Path | None = None) -> StoredModel:
    """The GGUF blob of `NAME[:TAG]` (or `NAMESPACE/NAME[:TAG]`) in the Ollama store at `root`."""
    root = root or ollama_root()
    match = _OLLAMA_NAME.match(name)
    if match is None:
        raise invalid_field("source", f"ollama:{name}", "ollama:NAME[:TAG], e.g. ollama:llama3.2:1b")
    namespace, model, tag = match["namespace"] or "library", match["model"], match["tag"] or "latest"
    manifest = root / "manifests" / OLLAMA_REGISTRY / namespace / model / tag
    if not manifest.is_file():
        installed = ", ".join(installed_ollama(root)) or "none"
        raise NotFound(
            f"source: ollama model {model}:{tag} is not installed in {root} (installed: {installed}); "
            f"run `ollama pull {model}:{tag}` first",
            param="source",
            code="model_not_found",
        )
    try:
        layers = json.loads(manifest.read_text(encoding="utf-8"))["layers"]
        digest = next(layer["digest"] for layer in layers if layer.get("mediaType") == OLLAMA_MODEL_LAYER)
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
        raise InvalidArgument(
            f"file {manifest}: not an Ollama manifest with a {OLLAMA_MODEL_LAYER} layer ({exc!r})", param="source"
        ) from exc
    blob = root / "blobs" / str(digest).replace(":", "-")
    if not blob.is_file():
        raise NotFound(f"file {blob}: the model blob of ollama:{model}:{tag} is missing", param="source")
    shown = f"{model}-{tag}" if namespace == "library" else f"{namespace}-{model}-{tag}"
    return StoredModel(blob, shown)


def installed_ollama(root: Path) -> list[str]:
    """`NAME:TAG` of every model in the Ollama store at `root`."""
    base = root / "manifests" / OLLAMA_REGISTRY
    if not base.is_dir():
        return []
    names = []
    for manifest in sorted(p for p in base.glob("*/*/*") if p.is_file()):
        namespace, model, tag = manifest.relative_to(base).parts
        names.append(f"{model}:{tag}" if namespace == "library" else f"{namespace}/{model}:{tag}")
    return names


def resolve_lmstudio(name: str, roots: list[Path] | None = None) -> StoredModel:
    """The GGUF named by `PUBLISHER/REPO[/FILE]` in the first LM Studio models folder that holds it."""
    roots = roots if roots is not None else lmstudio_roots()
    parts = name.strip("/").split("/")
    if len(parts) not in (2, 3) or not all(parts) or any(p in (".", "..") for p in parts):
        raise invalid_field("source", f"lmstudio:{name}", "lmstudio:PUBLISHER/REPO or lmstudio:PUBLISHER/REPO/FILE")
    for root in roots:
        repo = root / parts[0] / parts[1]
        if not repo.is_dir():
            continue
        if len(parts) == 3:
            path = repo / parts[2]
            if not path.is_file():
                raise NotFound(f"source: {path} does not exist", param="source")
            return StoredModel(path, path.stem)
        ggufs = sorted(repo.glob("*.gguf"))
        if len(ggufs) == 1:
            return StoredModel(ggufs[0], ggufs[0].stem)
        if not ggufs:
            raise NotFound(f"source: {repo} holds no .gguf file", param="source")
        choices = ", ".join(p.name for p in ggufs)
        raise invalid_field("source", f"lmstudio:{name}", f"one file of several; add /FILE, one of {choices}")
    searched = ", ".join(str(r) for r in roots)
    raise NotFound(f"source: lmstudio model {parts[0]}/{parts[1]} is not in {searched}", param="source")
