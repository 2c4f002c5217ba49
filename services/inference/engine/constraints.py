"""Structured outputs: `response_format` compiled by llguidance into a grammar, and one matcher per row.

llguidance (Microsoft's grammar engine behind Guidance, also used by vLLM and llama.cpp) was chosen because it
builds token masks lazily from the tokenizer's trie (~100 µs a step, no per-schema precompilation over the whole
vocabulary, unlike outlines-core's index) and takes JSON Schema, regular expressions and Lark grammars, which the
tools work builds on. The masks are applied per row inside the batched step: unconstrained rows pay nothing.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import llguidance
import llguidance.hf
import mlx.core as mx
import numpy as np

if TYPE_CHECKING:
    from llguidance._lib import JsonCompileOptions  # a TypedDict of the stubs only

from shared.errors import InvalidArgument

FormatType = Literal["text", "json_object", "json_schema"]
SCHEMA_FIELD = "response_format.json_schema.schema"
_ANY_JSON_OBJECT: dict[str, Any] = {"type": "object"}  # open data: a JSON Schema
# Separators fixed as json.dumps writes them: with free whitespace a model can pad an object with tabs forever.
_LAYOUT: JsonCompileOptions = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


@dataclass(frozen=True)
class ResponseFormat:
    """OpenAI's `response_format`: free text, any JSON object, or JSON valid against `schema`."""

    type: FormatType = "text"
    schema: dict[str, Any] | None = field(default=None, compare=False)  # open data: a JSON Schema
    name: str = ""
    strict: bool = False

    @property
    def constrained(self) -> bool:
        return self.type != "text"


class Grammars:
    """Compiles response formats for one tokenizer (built on first use, ~1 s) and caches the grammars."""

    def __init__(self, hf_tokenizer: Any) -> None:  # open: a Hugging Face fast tokenizer
        self._hf_tokenizer = hf_tokenizer
        self._tokenizer: llguidance.LLTokenizer | None = None
        self._lock = threading.Lock()
        self._cache: dict[str, str] = {}

    @property
    def tokenizer(self) -> llguidance.LLTokenizer:
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = llguidance.hf.from_tokenizer(self._hf_tokenizer)
            return self._tokenizer

    def compile(self, response_format: ResponseFormat) -> str | None:
        """The grammar for a constrained format (None for text); InvalidArgument naming the schema otherwise."""
        if not response_format.constrained:
            return None
        schema = _ANY_JSON_OBJECT if response_format.type == "json_object" else response_format.schema
        param = "response_format" if response_format.type == "json_object" else SCHEMA_FIELD
        if not isinstance(schema, dict):
            raise InvalidArgument(
                f"{SCHEMA_FIELD}: a JSON Schema object is required for json_schema", param=SCHEMA_FIELD
            )
        key = json.dumps(schema, sort_keys=True)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, overrides=_LAYOUT)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise InvalidArgument(f"{param}: the schema cannot be compiled: {exc}", param=param) from exc
        error = llguidance.LLMatcher.validate_grammar(grammar, self.tokenizer)
        if error and not error.startswith("WARNING"):
            raise InvalidArgument(f"{param}: the schema cannot be compiled: {error}", param=param)
        with self._lock:
            self._cache[key] = grammar
        return grammar

    def matcher(self, grammar: str) -> RowConstraint:
        """A fresh matcher for one row (each of a request's choices has its own)."""
        return RowConstraint(llguidance.LLMatcher(self.tokenizer, grammar, log_level=0))


class RowConstraint:
    """One row's place in its grammar: which tokens may come next, fed with each token it generates."""

    def __init__(self, matcher: llguidance.LLMatcher) -> None:
        self._matcher = matcher

    def allowed(self, vocab: int) -> np.ndarray:
        """[vocab] bool: the tokens the grammar allows next (ids past the tokenizer's vocabulary never)."""
        bits = np.unpackbits(np.frombuffer(self._matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
        allowed = np.zeros(vocab, dtype=bool)
        n = min(vocab, bits.shape[0])
        allowed[:n] = bits[:n].astype(bool)
        return allowed

    def consume(self, token: int) -> None:
        """Advance past a generated token (the mask guarantees it is allowed)."""
        self._matcher.consume_token(token)


def mask_logits(logits: mx.array, constraints: list[RowConstraint | None]) -> mx.array:
    """`logits` [B, V] with the tokens each constrained row's grammar forbids set to -inf; others unchanged."""
    vocab = logits.shape[-1]
    masks = np.stack([np.ones(vocab, dtype=bool) if c is None else c.allowed(vocab) for c in constraints])
    return mx.where(mx.array(masks), logits, -mx.inf)
