"""Training records (spec §6) to token ids and loss masks; the seeded data order; padded micro-batches.

An `Example` holds `tokens` (n ids) and `mask` (n − 1 floats): `mask[t]` is 1 when predicting `tokens[t + 1]`
counts in the loss. What counts:

* text: every token (an EOS is appended when the tokenizer did not add one);
* chat (`messages`): the conversation is rendered with the tokenizer's chat template; with `completion_only`
  only the tokens of assistant turns count: for assistant message k, the characters the template adds between
  rendering messages[:k] with the generation prompt and rendering messages[:k + 1] (the reply and its
  end-of-turn marker, as mlx-lm's `mask_prompt` does for the last turn);
* prompt + completion: rendered as a user / assistant exchange when the tokenizer has a chat template (as
  mlx-lm does), otherwise as the plain concatenation prompt + completion + EOS; with `completion_only` only the
  completion tokens count.

Sequences are truncated to `max_seq_length` tokens. Padding never counts (its mask is 0).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import InvalidArgument
from shared.records import RecordError, parse_json_object, validate_training_record

PAD_MULTIPLE = 32
MAX_LINES_NAMED = 10


@dataclass(frozen=True)
class Example:
    tokens: np.ndarray  # int32, shape (n,)
    mask: np.ndarray  # float32, shape (n - 1,)
    line: int  # 1-based line number in the source file
    auth_weight: float | None = None
    prov_entropy: float | None = None

    @property
    def n_loss_tokens(self) -> int:
        return int(self.mask.sum())


@dataclass(frozen=True)
class Batch:
    """A padded micro-batch: tokens (B, T) int32, mask (B, T − 1) float32, weights (B,) float32."""

    tokens: np.ndarray
    mask: np.ndarray
    weights: np.ndarray
    indices: tuple[int, ...]  # example indices, in row order

    @property
    def n_loss_tokens(self) -> int:
        return int(self.mask.sum())


def _lines_text(lines: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:MAX_LINES_NAMED])
    more = f" and {len(lines) - MAX_LINES_NAMED} more" if len(lines) > MAX_LINES_NAMED else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def read_records(path: Path, *, field: str, require_scores: bool) -> list[tuple[int, dict[str, Any]]]:
    """Parse a JSONL file into (line number, record); blank lines are skipped.

    Every line is checked before anything is returned; records missing auth_weight / prov_entropy when the
    mode needs them, and any otherwise malformed line, raise InvalidArgument naming the first bad lines.
    """
    records: list[tuple[int, dict[str, Any]]] = []
    missing: list[int] = []
    bad: list[tuple[int, str]] = []
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = parse_json_object(raw)
                shape = validate_training_record(record, require_scores=False)
                if shape == "preference":
                    raise RecordError("preference records (chosen / rejected) are not supervised training data")
            except RecordError as exc:
                bad.append((number, str(exc)))
                continue
            if require_scores and ("auth_weight" not in record or "prov_entropy" not in record):
                missing.append(number)
            records.append((number, record))
    if bad:
        lines = [n for n, _ in bad]
        raise InvalidArgument(f"{field}: invalid record on {_lines_text(lines)} (line {bad[0][0]}: {bad[0][1]})",
                              param=field)
    if missing:
        raise InvalidArgument(f"{field}: missing auth_weight / prov_entropy on {_lines_text(missing)}; the "
                              f"weighted and additive distrust modes need both on every record (score the data "
                              f"with the scorer first)", param=field)
    if not records:
        raise InvalidArgument(f"{field}: the file has no records", param=field)
    return records


class Tokenization:
    """Turns one record into (tokens, loss mask) with a mlx-lm TokenizerWrapper (or a HF tokenizer)."""

    def __init__(self, tokenizer: Any, *, max_seq_length: int, completion_only: bool) -> None:
        self.tokenizer = tokenizer
        self.hf = getattr(tokenizer, "_tokenizer", tokenizer)
        self.max_seq_length = max_seq_length
        self.completion_only = completion_only
        self.eos_id = self.hf.eos_token_id
        self.has_chat_template = bool(getattr(tokenizer, "has_chat_template", False)
                                      or getattr(self.hf, "chat_template", None))

    @property
    def pad_id(self) -> int:
        for candidate in (getattr(self.hf, "pad_token_id", None), self.eos_id):
            if isinstance(candidate, int):
                return candidate
        return 0

    def encode(self, record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        if "messages" in record:
            ids, flags = self._chat(record["messages"])
        elif "completion" in record:
            if self.has_chat_template:
                ids, flags = self._chat([{"role": "user", "content": record.get("prompt", "")},
                                         {"role": "assistant", "content": record["completion"]}])
            else:
                ids, flags = self._plain(record.get("prompt", ""), record["completion"])
        else:
            ids, flags = self._plain("", record["text"], all_count=True)
        ids = ids[: self.max_seq_length]
        flags = flags[: self.max_seq_length]
        tokens = np.asarray(ids, dtype=np.int32)
        mask = np.asarray(flags[1:], dtype=np.float32)
        return tokens, mask

    def _offsets(self, text: str, *, add_special_tokens: bool) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids of `text` and each token's character span in it."""
        try:
            enc = self.hf(text, add_special_tokens=add_special_tokens, return_offsets_mapping=True)
            return list(enc["input_ids"]), [(int(a), int(b)) for a, b in enc["offset_mapping"]]
        except (NotImplementedError, KeyError, TypeError):
            pass  # a tokenizer without offsets (not a "fast" one): spans from decoding growing prefixes
        ids = list(self.hf(text, add_special_tokens=add_special_tokens)["input_ids"])
        ends = [len(self.hf.decode(ids[: j + 1])) for j in range(len(ids))]
        return ids, [(ends[j - 1] if j else 0, end) for j, end in enumerate(ends)]

    def _plain(self, prompt: str, completion: str, *, all_count: bool = False) -> tuple[list[int], list[bool]]:
        """prompt + completion as one string; with completion_only, tokens holding a completion character count."""
        text = prompt + completion
        if all_count or not self.completion_only:
            ids = list(self.hf(text, add_special_tokens=True)["input_ids"])
            flags = [True] * len(ids)
        else:
            ids, offsets = self._offsets(text, add_special_tokens=True)
            boundary = len(prompt)
            flags = [end > boundary and end > start for start, end in offsets]
        if self.eos_id is not None and (not ids or ids[-1] != self.eos_id):
            ids.append(self.eos_id)
            flags.append(True)
        return ids, flags

    def _render(self, messages: list[dict[str, Any]], *, add_generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=add_generation_prompt)

    def _chat(self, messages: list[dict[str, Any]]) -> tuple[list[int], list[bool]]:
        if not self.has_chat_template:
            raise ValueError("the tokenizer has no chat template, so chat records cannot be rendered")
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        text = self._render(messages, add_generation_prompt=False)
        ids, offsets = self._offsets(text, add_special_tokens=False)
        if not self.completion_only:
            return ids, [True] * len(ids)
        spans = self._assistant_spans(messages, text)
        flags = [any(start < s_end and end > s_start for s_start, s_end in spans) and end > start
                 for start, end in offsets]
        return ids, flags

    def _assistant_spans(self, messages: list[dict[str, Any]], text: str) -> list[tuple[int, int]]:
        """Character spans of the assistant turns in `text` (the rendered conversation).

        Turn k spans from the end of render(messages[:k], generation prompt) to the end of
        render(messages[:k + 1]). When a template refuses the shorter conversation (e.g. an empty one), the start
        is where render(messages[:k] + [the same turn with empty content]) and render(messages[:k + 1]) part.
        As a last resort the reply's own text is searched for.
        """
        spans: list[tuple[int, int]] = []
        cursor = 0
        for k, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            span = None
            try:
                upto = self._render(messages[: k + 1], add_generation_prompt=False)
                start = self._reply_start(messages, k, upto)
                if text.startswith(upto) and cursor <= start < len(upto):
                    span = (start, len(upto))
            except Exception:  # noqa: BLE001 - a template that cannot render part of it: search below
                span = None
            if span is None:
                found = text.find(message["content"], cursor)
                if found < 0 or not message["content"]:
                    raise ValueError(f"cannot locate assistant message {k} in the rendered chat template")
                span = (found, found + len(message["content"]))
            spans.append(span)
            cursor = span[1]
        return spans

    def _reply_start(self, messages: list[dict[str, Any]], k: int, upto: str) -> int:
        if k:
            try:
                before = self._render(messages[:k], add_generation_prompt=True)
                if upto.startswith(before):
                    return len(before)
            except Exception:  # noqa: BLE001, S110 - some templates refuse partial conversations
                pass
        empty = self._render(messages[:k] + [{**messages[k], "content": ""}], add_generation_prompt=False)
        return _common_prefix(empty, upto)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def load_examples(path: Path, tokenization: Tokenization, *, field: str,
                  require_scores: bool) -> tuple[list[Example], list[int]]:
    """Read and tokenize a JSONL file. Returns the examples and the line numbers of records left out because
    no loss token remained (e.g. a completion cut off by max_seq_length)."""
    examples: list[Example] = []
    empty: list[int] = []
    failed: list[tuple[int, str]] = []
    for line, record in read_records(path, field=field, require_scores=require_scores):
        try:
            tokens, mask = tokenization.encode(record)
        except ValueError as exc:
            failed.append((line, str(exc)))
            continue
        if mask.size == 0 or not mask.any():
            empty.append(line)
            continue
        w = record.get("auth_weight")
        h = record.get("prov_entropy")
        examples.append(Example(tokens=tokens, mask=mask, line=line,
                                auth_weight=float(w) if w is not None else None,
                                prov_entropy=float(h) if h is not None else None))
    if failed:
        raise InvalidArgument(f"{field}: cannot tokenize {_lines_text([n for n, _ in failed])} "
                              f"(line {failed[0][0]}: {failed[0][1]})", param=field)
    if not examples:
        raise InvalidArgument(f"{field}: no record has a token to train on after tokenization and truncation",
                              param=field)
    return examples, empty


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The example order of one epoch: a permutation that depends only on (seed, epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def padded_length(longest: int, max_seq_length: int) -> int:
    """Pad so the model input (T − 1 tokens) is a multiple of 32, capped at max_seq_length (as mlx-lm does):
    few distinct shapes, so few recompilations of the step."""
    return min(1 + PAD_MULTIPLE * -(-(longest - 1) // PAD_MULTIPLE), max(max_seq_length, longest))


def make_batch(examples: Sequence[Example], indices: Sequence[int], weights: np.ndarray, *, pad_id: int,
               max_seq_length: int) -> Batch:
    rows = [examples[i] for i in indices]
    length = padded_length(max(len(r.tokens) for r in rows), max_seq_length)
    tokens = np.full((len(rows), length), pad_id, dtype=np.int32)
    mask = np.zeros((len(rows), length - 1), dtype=np.float32)
    for j, row in enumerate(rows):
        tokens[j, : len(row.tokens)] = row.tokens
        mask[j, : len(row.mask)] = row.mask
    return Batch(tokens=tokens, mask=mask, weights=np.asarray(weights[list(indices)], dtype=np.float32),
                 indices=tuple(int(i) for i in indices))


def fingerprint(examples: Sequence[Example], weights: np.ndarray) -> str:
    """sha256 of the tokenized training set and its weights: a checkpoint only resumes on the same data."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(np.int64(len(example.tokens)).tobytes())
        digest.update(example.tokens.tobytes())
        digest.update(example.mask.tobytes())
    digest.update(np.asarray(weights, dtype=np.float64).tobytes())
    return digest.hexdigest()
