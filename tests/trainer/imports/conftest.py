"""SmolLM2-135M-Instruct imported from its GGUF, kept 4-bit and dequantized to float32 (cached across sessions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.smollm2 import smollm2_folder


@pytest.fixture(scope="session")
def smollm2_q4() -> Path:
    return smollm2_folder("q4")


@pytest.fixture(scope="session")
def smollm2_float32() -> Path:
    return smollm2_folder("float32")
