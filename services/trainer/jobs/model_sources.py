"""Where a job's base model comes from: a registered name, a local model folder, or a Hugging Face id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shared.errors import NotFound, Unavailable, invalid_field
from shared.model_registry import AdapterRecord, ModelRegistry

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
HUB_FILES = ["*.json", "*.safetensors", "*.py", "tokenizer.model", "*.tiktoken", "*.txt", "*.jinja"]


@dataclass(frozen=True)
class ModelSource:
    """Where one model comes from, and the name to find it by there."""

    kind: Literal["registered", "local", "hub"]
    name: str


class ModelSources:
    """Resolves a job's `model` to where it comes from, under the deployment's rules, and fetches it."""

    def __init__(self, registry: ModelRegistry, *, allow_local: bool, allow_hub: bool) -> None:
        self.registry = registry
        self.allow_local = allow_local
        self.allow_hub = allow_hub

    def start_adapter(self, model: str, owner: str) -> AdapterRecord | None:
        """The owner's fine-tuned model (or checkpoint) `model` names, which a job continues; None for a base."""
        ref = self.registry.resolve(model, owner)
        return ref.adapter if ref is not None else None

    def base_of(self, model: str, owner: str) -> str:
        """The base model a job on `model` loads: the fine-tuned model's base, or `model` itself."""
        adapter = self.start_adapter(model, owner)
        return adapter.base_model if adapter is not None else model

    def classify(self, model: str, owner: str | None) -> ModelSource:
        """Decide how `model` is found, refusing what this deployment does not allow (errors name `model`).

        A registered base model someone else owns (an export) is unknown to `owner` (None: any model).
        """
        if self.registry.get_base(model, owner=owner) is not None:
            return ModelSource("registered", model)
        if model.startswith("/"):
            if not self.allow_local:
                raise invalid_field(
                    "model",
                    model,
                    "a registered model name (local model folders are disabled: DISTRUST_TRAINER_ALLOW_LOCAL_MODELS)",
                )
            if not (Path(model) / "config.json").is_file():
                raise invalid_field("model", model, "a folder holding a Hugging Face-layout model (no config.json)")
            return ModelSource("local", model)
        if HUB_ID.match(model) and self.allow_hub:
            return ModelSource("hub", model)
        known = ", ".join(self.registry.visible_names(owner)) or "none"
        hint = (
            ""
            if self.allow_hub
            else "; Hugging Face ids need DISTRUST_TRAINER_ALLOW_HUB_MODELS=true on a connected machine"
        )
        raise NotFound(
            f"model: no base model named {model!r} (available: {known}{hint})", param="model", code="model_not_found"
        )

    def local_dir(self, model: str, cache_dir: Path, owner: str) -> Path:
        """A local folder with `owner`'s model's files, downloading it when needed."""
        source = self.classify(model, owner)
        if source.kind == "registered":
            return self.registry.fetch_base(model, cache_dir, owner=owner)
        if source.kind == "local":
            return Path(model)
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(model, allow_patterns=HUB_FILES, cache_dir=str(cache_dir / "hub")))
        except Exception as exc:
            raise Unavailable(
                f"model: cannot download {model!r} from the Hugging Face Hub: {exc}", code="model_download_failed"
            ) from exc
