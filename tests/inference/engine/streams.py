"""Helpers for the engine tests: trained-looking LoRA adapters in mlx-lm's layout, and reading streams."""

from __future__ import annotations

from dataclasses import dataclass

from services.inference.engine import Delta, Done, RequestHandle


@dataclass(frozen=True)
class Result:
    text: str
    done: Done
    deltas: tuple[str, ...]


def collect(handle: RequestHandle) -> Result:
    deltas: list[str] = []
    for item in handle:
        if isinstance(item, Delta):
            deltas.append(item.text)
        else:
            return Result("".join(deltas), item, tuple(deltas))
    raise AssertionError("stream ended without Done")
