"""One request inside the engine: its prompt, adapter and sampling, and turning its tokens into stream items."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.inference.engine.adapter_cache import LoadedAdapter
from services.inference.engine.api import Delta, Done, FinishReason, GenerationRequest, TokenLogprob
from services.inference.engine.constraints import RowConstraint
from services.inference.engine.handle import RequestHandle
from services.inference.engine.penalties import RowPenalties
from services.inference.engine.sampling import RowSampling
from services.inference.engine.stops import StopMatcher


@dataclass(eq=False)
class Job:
    """A validated, tokenized request waiting for a slot in the batch."""

    request: GenerationRequest
    prompt: list[int]
    adapter: LoadedAdapter | None
    handle: RequestHandle
    released: bool = False  # its hold on the adapter was given back
    live_rows: int = 0  # its choices in the batch and not yet ended
    constraint: Callable[[], RowConstraint] | None = None  # a new grammar matcher per choice (response_format)

    def sampling(self, index: int = 0) -> RowSampling:
        """Choice `index`'s sampling: the request's seed + index (mod 2**64), so a choice is reproducible alone."""
        r = self.request
        seed = None if r.seed is None else (r.seed + index) % 2**64
        return RowSampling(temperature=float(r.temperature), top_p=float(r.top_p), seed=seed)


class Row:
    """A job in the running batch. `accept` takes each sampled token and returns a finish reason when done."""

    def __init__(self, job: Job, detokenizer: Any, eos_ids: frozenset[int], index: int = 0) -> None:
        self.job = job
        self.index = index  # which of the request's n choices
        self.handle = job.handle
        self.adapter = job.adapter
        self.sampling = job.sampling(index)
        self.max_tokens = job.request.max_tokens
        self.prompt_tokens = len(job.prompt)
        self.completion_tokens = 0
        # The row enters the batch by feeding its last prompt token; what comes back for it is not generated text.
        self.feeding_prompt = True
        self._detokenizer = detokenizer
        self._eos_ids = eos_ids
        self._stops = StopMatcher(job.request.stop)
        self.finished = False
        self.constraint = None if job.constraint is None else job.constraint()
        self.logprobs = job.request.logprobs  # top alternatives to report, None: no logprobs
        adjustments = job.request.adjustments
        self.penalties = RowPenalties(adjustments) if adjustments.active else None
        # Set by the batch: the entry of the token sampled last step, and of the one this step consumes.
        self.sampled_logprob: TokenLogprob | None = None
        self.consumed_logprob: TokenLogprob | None = None

    @property
    def routing_key(self) -> tuple[int, float] | None:
        return None if self.adapter is None else (self.adapter.uid, self.adapter.scale)

    def accept(self, token: int) -> FinishReason | None:
        """Consume one sampled token: emit what text is safe, and return "stop"/"length" when the row is done."""
        self.completion_tokens += 1
        if self.consumed_logprob is not None:
            self.handle._push(Delta("", self.index, (self.consumed_logprob,)))
        if token in self._eos_ids:
            self._detokenizer.finalize()
            if self._emit(self._detokenizer.last_segment):
                return "stop"
            self._emit_text(self._stops.flush())
            return "stop"
        self._detokenizer.add_token(token)
        if self._emit(self._detokenizer.last_segment):
            return "stop"
        if self.completion_tokens >= self.max_tokens:
            self._detokenizer.finalize()
            if self._emit(self._detokenizer.last_segment):
                return "stop"
            self._emit_text(self._stops.flush())
            return "length"
        return None

    def finish(self, reason: FinishReason) -> None:
        if self.finished:
            return
        self.finished = True
        self.handle._push(
            Done(
                finish_reason=reason,
                prompt_tokens=self.prompt_tokens,
                completion_tokens=self.completion_tokens,
                index=self.index,
            )
        )

    def fail(self, error: BaseException) -> None:
        if not self.finished:
            self.finished = True
            self.handle._push(error)

    def _emit(self, text: str) -> bool:
        """Pass text through the stop matcher; True if a stop sequence ended the row."""
        if not text:
            return False
        safe, stopped = self._stops.feed(text)
        self._emit_text(safe)
        return stopped

    def _emit_text(self, text: str) -> None:
        if text:
            self.handle._push(Delta(text, self.index))
