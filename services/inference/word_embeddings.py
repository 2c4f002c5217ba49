"""Static word-embedding models served for `/v1/embeddings`: WordLlama's trained token table, mean-pooled, in MLX.

WordLlama (PyPI `wordllama`) ships a 32 000 x 256 table distilled from Llama 2 70B's token embeddings and trained
for sentence similarity, with the Llama 2 tokenizer it was trained with. A text's vector is the mean of its
tokens' rows (no special tokens, as WordLlama embeds), L2-normalised like OpenAI's. Only the package's two files
are read, never its code. No base model is needed, so these models answer beside whatever base is loaded.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import mlx.core as mx
from tokenizers import Tokenizer

from services.inference.engine.api import Embeddings, TokenSpans
from services.inference.engine.embed import check_dimensions, embedding_rows, pooled_rows, token_spans, truncate
from services.inference.engine.worker import MLXThread

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WordModelSpec:
    """Where an installed package keeps a word-embedding model's table and tokenizer."""

    name: str
    package: str
    weights: str  # relative to the package's folder
    tokenizer: str
    tensor_key: str = "embedding.weight"
    # No attention, so no limit of its own; OpenAI's embedding models take 8191 tokens.
    context_length: int = 8191

    def files(self) -> tuple[Path, Path] | None:
        """(table, tokenizer) paths when the package is installed with both files; else None."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        root = Path(next(iter(spec.submodule_search_locations)))
        weights, tokenizer = root / self.weights, root / self.tokenizer
        return (weights, tokenizer) if weights.is_file() and tokenizer.is_file() else None


WORDLLAMA = WordModelSpec(
    name="wordllama-l2-supercat-256",
    package="wordllama",
    weights="weights/l2_supercat_256.safetensors",
    tokenizer="tokenizers/l2_supercat_tokenizer_config.json",
)
WORD_MODELS: dict[str, WordModelSpec] = {WORDLLAMA.name: WORDLLAMA}


class WordEmbedder:
    """One word-embedding model, its MLX work on a thread of its own (MLX is not thread-safe)."""

    def __init__(self, spec: WordModelSpec, weights: Path, tokenizer: Path) -> None:
        self.spec = spec
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._thread = MLXThread(f"embed-{spec.name}")
        self._table: mx.array = self._thread.call(lambda: _load_table(weights, spec.tensor_key))
        self.vocab_size, self.dimensions = int(self._table.shape[0]), int(self._table.shape[1])
        logger.info("word-embedding model loaded", extra={"model": spec.name, "vocab": self.vocab_size})

    def encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def tokenize(self, text: str) -> TokenSpans:
        return TokenSpans(token_spans(self._tokenizer, text), self.spec.context_length)

    def embed(self, inputs: Sequence[str | Sequence[int]], dimensions: int | None = None) -> Embeddings:
        """Unit vectors of `inputs` (texts or token ids); InvalidArgument names `input[i]` or `dimensions`."""
        rows = embedding_rows(inputs, self.encode, self.vocab_size, self.spec.context_length)
        check_dimensions(dimensions, self.dimensions)

        def run() -> list[list[float]]:
            vectors = pooled_rows(rows, lambda tokens: self._table[tokens])
            return cast(list[list[float]], truncate(vectors, dimensions).tolist())

        return Embeddings(vectors=self._thread.call(run), prompt_tokens=sum(len(row) for row in rows))

    def close(self) -> None:
        self._thread.close()


def _load_table(weights: Path, key: str) -> mx.array:
    tensors = cast(dict[str, mx.array], mx.load(str(weights)))
    table = tensors[key].astype(mx.float32)
    mx.eval(table)
    return table


def installed_models() -> dict[str, WordModelSpec]:
    """The word-embedding models whose package is installed here."""
    return {name: spec for name, spec in WORD_MODELS.items() if spec.files() is not None}
