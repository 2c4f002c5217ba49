"""The options of one preparation run: the shared schema, under the name the pipeline uses."""

from __future__ import annotations

from shared.schemas.preparation import PROFILES, PreparationOptions

PrepareOptions = PreparationOptions

__all__ = ["PROFILES", "PrepareOptions"]
