"""The inference engine: one base model in memory, many LoRA adapters, continuous batching across all of them.

The base is loaded once (`base_loads` stays 1); adapters only add or drop their small matrices. Requests on
different adapters, seeds and sampling settings share every forward pass. All MLX work happens on the
scheduler thread; the public methods are safe to call from any thread.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import mlx_lm

from services.inference.engine.adapter_cache import AdapterCache, LoadedAdapter
from services.inference.engine.adapter_files import read_adapter
from services.inference.engine.api import (
    DEFAULT_MAX_N,
    Embeddings,
    GenerationRequest,
    TokenLogprob,
    TokenSpans,
    validate_request,
)
from services.inference.engine.constraints import Grammars
from services.inference.engine.embed import check_dimensions, embed_rows, embedding_rows, token_spans, truncate
from services.inference.engine.handle import RequestHandle
from services.inference.engine.multi_lora import MultiLoRAModel
from services.inference.engine.prefix_cache import PrefixCacheSize
from services.inference.engine.prompts import PromptEncoder
from services.inference.engine.row import Job
from services.inference.engine.scheduler import EngineStats, Scheduler
from services.inference.engine.score import prompt_logprobs
from shared.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable, invalid_field

DEFAULT_CONTEXT_LENGTH = 4096
_CONTEXT_KEYS = ("max_position_embeddings", "max_sequence_length", "n_positions", "seq_length")


class Engine:
    """Serve one base model and its LoRA adapters; see the module docstring."""

    def __init__(
        self,
        model_path: Path,
        *,
        max_batch_size: int = 8,
        batch_lane_size: int = 0,
        adapter_cache_size: int = 8,
        max_n: int = DEFAULT_MAX_N,
        max_n_tokens: int = 0,
        prefix_cache: PrefixCacheSize = PrefixCacheSize(),
        max_queued: int = 0,
    ) -> None:
        """Load the base model; `max_n` caps choices per request, `max_n_tokens` (0 = none) n x max_tokens.

        `max_queued` > 0 bounds the requests waiting for a batch slot: past it a request is refused at once
        (Unavailable, `queue_full`) instead of waiting longer than its client will.

        `prefix_cache.bytes` > 0 turns the prefix cache on (blocks of `prefix_cache.block` tokens).

        Requests of priority "batch" fill the decode batch up to `batch_lane_size` rows in all (at least
        `max_batch_size`), behind interactive requests, which keep `max_batch_size` rows of their own.
        """
        if not isinstance(max_batch_size, int) or isinstance(max_batch_size, bool) or max_batch_size < 1:
            raise invalid_field("max_batch_size", max_batch_size, "an integer >= 1")
        self.model_path = Path(model_path)
        if not self.model_path.is_dir():
            raise NotFound(f"model_path: base model folder {str(self.model_path)!r} does not exist", param="model_path")
        self.max_batch_size = max_batch_size
        self.adapter_cache_size = adapter_cache_size
        self.max_n = max_n
        self.max_n_tokens = max_n_tokens
        self.max_queued = max_queued
        self.base_loads = 0
        self._adapters = AdapterCache(adapter_cache_size)
        self._lock = threading.Lock()
        self._closed = False
        self._scheduler = Scheduler(
            self._adapters,
            max_batch_size,
            batch_lane_size=batch_lane_size,
            prefix_cache=prefix_cache,
        )
        try:
            self._tokenizer, config, self._lora = self._scheduler.call(self._load_base)
        except BaseException:
            self._scheduler.stop()
            raise
        self.context_length: int = _context_length(config, self._tokenizer)
        self.hidden_size = int(config.get("hidden_size") or config.get("d_model") or 0)
        self.vocab_size = int(config.get("vocab_size") or len(self._tokenizer.vocab))
        self._prompts = PromptEncoder(self._tokenizer, self.context_length)
        self._grammars = Grammars(getattr(self._tokenizer, "_tokenizer", self._tokenizer))  # mlx-lm wraps HF's

    # Adapters

    def load_adapter(self, name: str, directory: Path, *, pin: bool = False) -> None:
        """Load an adapter in mlx-lm's layout under `name`; a no-op (apart from `pin`) if `name` is loaded.

        Evicts the least recently used unpinned, idle adapter when the cache is full (ResourceExhausted if
        none can go). NotFound for a missing folder; InvalidArgument if the adapter does not fit the base.
        """
        if not isinstance(name, str) or not name:
            raise invalid_field("name", name, "a non-empty adapter name")
        self._check_open()
        if self._adapters.touch(name, pin=pin):
            return
        self._scheduler.call(lambda: self._load_adapter_on_thread(name, Path(directory), pin))

    def unload_adapter(self, name: str) -> None:
        """Forget `name` (NotFound if not loaded); requests already using it finish on it first."""
        self._check_open()
        self._scheduler.call(lambda: self._unload_adapter_on_thread(name))

    def pin(self, name: str, pinned: bool = True) -> None:
        """Pinned adapters are never evicted (they can still be unloaded explicitly)."""
        self._adapters.pin(name, pinned)

    def loaded_adapters(self) -> list[str]:
        return sorted(self._adapters.names())

    def pinned_adapters(self) -> list[str]:
        return sorted(self._adapters.pinned_names())

    # Generation

    def submit(self, request: GenerationRequest) -> RequestHandle:
        """Queue a request and return its stream; raises InvalidArgument or NotFound before queueing."""
        validate_request(request, self.max_n)
        prompt = self._prompts.encode(request)
        self._prompts.check_fits(request, len(prompt))
        self._check_choices(request, len(prompt))
        request.adjustments.check(self.vocab_size)
        grammar = self._grammars.compile(request.response_format)
        constraint = None if grammar is None else functools.partial(self._grammars.matcher, grammar)
        with self._lock:
            self._check_open()
            self._check_room()
            adapter = self._adapters.acquire(request.adapter) if request.adapter is not None else None
            handle = RequestHandle(request.request_id, on_cancel=self._scheduler.wake, choices=request.n)
            try:
                job = Job(request=request, prompt=prompt, adapter=adapter, handle=handle, constraint=constraint)
                self._scheduler.enqueue(job)
            except BaseException:
                if adapter is not None:
                    self._adapters.release(adapter)
                raise
        return handle

    def _check_room(self) -> None:
        waiting = self._scheduler.active_requests() - self._scheduler.batch_lane_size
        if self.max_queued and waiting >= self.max_queued:
            raise Unavailable(
                f"The inference queue is full ({waiting} requests waiting for a batch slot); retry shortly",
                code="queue_full",
            )

    def _check_choices(self, request: GenerationRequest, prompt_tokens: int) -> None:
        """InvalidArgument naming `n` when n x max_tokens passes the cap, or prompt + n x max_tokens the context."""
        if request.n == 1:
            return
        total = request.n * request.max_tokens
        if self.max_n_tokens and total > self.max_n_tokens:
            raise InvalidArgument(
                f"n: got {request.n}, expected at most {max(1, self.max_n_tokens // request.max_tokens)}: "
                f"n x max_tokens = {total} is over this server's cap of {self.max_n_tokens} tokens",
                param="n",
            )
        if prompt_tokens + total > self.context_length:
            raise InvalidArgument(
                f"n: got {request.n}, expected at most {(self.context_length - prompt_tokens) // request.max_tokens}"
                f": prompt ({prompt_tokens} tokens) + n x max_tokens ({total}) must fit in the model's context "
                f"length of {self.context_length} tokens",
                param="n",
                code="context_length_exceeded",
            )

    def prompt_logprobs(self, request: GenerationRequest) -> tuple[list[int], list[TokenLogprob]]:
        """The request's prompt ids and each one's log-probability given those before it (`echo`)."""
        self._check_open()
        prompt = self._prompts.encode(request)
        top = request.logprobs or 0
        tokenizer = self._tokenizer

        def run() -> list[TokenLogprob]:
            adapter = request.adapter
            entry = self._adapters.acquire(adapter) if adapter is not None else None
            try:
                key = None if entry is None else (entry.uid, entry.scale)
                return prompt_logprobs(self._lora, prompt, key, top, lambda t: str(tokenizer.decode([t])))
            finally:
                if entry is not None and self._adapters.release(entry):
                    self._scheduler.forget_adapter(entry.uid)

        return prompt, self._scheduler.call(run)

    def embed(
        self, inputs: Sequence[str | Sequence[int]], *, adapter: str | None = None, dimensions: int | None = None
    ) -> Embeddings:
        """Unit vectors of `inputs` (texts or token ids), on the base or a loaded adapter.

        InvalidArgument names the bad input (`input[i]`) or `dimensions` before anything runs.
        """
        self._check_open()
        rows = self._embedding_rows(inputs)
        check_dimensions(dimensions, self.hidden_size)

        def run() -> list[list[float]]:
            entry = self._adapters.acquire(adapter) if adapter is not None else None
            try:
                vectors = embed_rows(self._lora, rows, None if entry is None else (entry.uid, entry.scale))
                # Read out here: MLX arrays are evaluated on the thread whose stream made them.
                return cast(list[list[float]], truncate(vectors, dimensions).tolist())
            finally:
                if entry is not None and self._adapters.release(entry):
                    self._scheduler.forget_adapter(entry.uid)

        return Embeddings(vectors=self._scheduler.call(run), prompt_tokens=sum(len(row) for row in rows))

    def tokenize(self, text: str) -> TokenSpans:
        """`text`'s tokens under the base model's tokenizer, as character spans."""
        self._check_open()
        hf = getattr(self._tokenizer, "_tokenizer", self._tokenizer)  # mlx-lm wraps HF's
        return TokenSpans(token_spans(hf.backend_tokenizer, text), self.context_length)

    def _embedding_rows(self, inputs: Sequence[str | Sequence[int]]) -> list[list[int]]:
        vocab = len(self._tokenizer.vocab) if hasattr(self._tokenizer, "vocab") else None

        def encode(text: str) -> list[int]:
            return list(self._prompts.encode(GenerationRequest(prompt=text)))

        return embedding_rows(inputs, encode, vocab, self.context_length)

    def count_tokens(self, request: GenerationRequest) -> int:
        """Prompt tokens the request would use (after the chat template)."""
        validate_request(request, self.max_n)
        return len(self._prompts.encode(request))

    def active_requests(self) -> int:
        """Requests submitted and not yet ended (queued or running)."""
        return self._scheduler.active_requests()

    def stats(self) -> EngineStats:
        """A snapshot of the scheduler's counters (steps, tokens, peak batch size)."""
        return self._scheduler.stats()

    def close(self) -> None:
        """Stop the scheduler; running and queued requests end with Done("cancelled")."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._scheduler.stop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def eos_token_ids(self) -> frozenset[int]:
        return self._eos_ids

    # On the scheduler thread

    def _load_base(self) -> tuple[Any, dict[str, Any], MultiLoRAModel]:  # open: the model's config.json
        try:
            # mlx_lm annotates load() as a pair; with return_config=True it returns the config.json too.
            loaded = cast(tuple[Any, Any, dict[str, Any]], mlx_lm.load(str(self.model_path), return_config=True))
            model, tokenizer, config = loaded
        except (OSError, ValueError, KeyError) as exc:
            raise invalid_field("model_path", str(self.model_path), f"a model folder mlx-lm can load ({exc})") from exc
        self.base_loads += 1
        self._eos_ids = _eos_ids(tokenizer, self.model_path)
        lora = self._scheduler.attach(model, tokenizer, self._eos_ids)
        return tokenizer, config, lora

    def _load_adapter_on_thread(self, name: str, directory: Path, pin: bool) -> None:
        if self._adapters.touch(name, pin=pin):
            return
        weights = read_adapter(name, directory, self._lora.base_shape)
        for victim in self._adapters.make_room():
            self._scheduler.forget_adapter(victim.uid)
        entry = LoadedAdapter(
            name=name,
            uid=self._adapters.new_uid(),
            directory=directory,
            rank=weights.rank,
            scale=weights.scale,
            nbytes=weights.nbytes,
            pinned=pin,
        )
        self._lora.install(entry.uid, weights)
        self._adapters.add(entry)

    def _unload_adapter_on_thread(self, name: str) -> None:
        entry, free_now = self._adapters.remove(name)
        if free_now:
            self._scheduler.forget_adapter(entry.uid)

    def _check_open(self) -> None:
        if self._closed:
            raise FailedPrecondition("the inference engine is closed")


def _context_length(config: dict[str, Any], tokenizer: Any) -> int:
    for key in _CONTEXT_KEYS:
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    # HF uses a huge sentinel when the tokenizer does not know the limit.
    return limit if isinstance(limit, int) and 0 < limit < 10**7 else DEFAULT_CONTEXT_LENGTH


def _eos_ids(tokenizer: Any, model_path: Path) -> frozenset[int]:
    ids = {int(i) for i in getattr(tokenizer, "eos_token_ids", ()) or ()}
    generation_config = model_path / "generation_config.json"
    if generation_config.is_file():
        try:
            value = json.loads(generation_config.read_text(encoding="utf-8")).get("eos_token_id")
        except (OSError, ValueError, AttributeError):
            value = None
        ids.update(int(i) for i in (value if isinstance(value, list) else [value]) if isinstance(i, int))
    return frozenset(ids)
