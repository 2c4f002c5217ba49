"""One training record to token ids and a loss mask, with the model's own tokenizer and chat template.

The result: `tokens` (n ids) and `mask` (n − 1 floats); `mask[t]` is 1 when predicting `tokens[t + 1]` counts
in the loss. What counts:

* text: every token (an EOS is appended when the tokenizer did not add one);
* chat (`messages`): the conversation is rendered with the tokenizer's chat template; with `completion_only`
  only the tokens of assistant turns count: for assistant message k, the characters the template adds between
  rendering messages[:k] with the generation prompt and rendering messages[:k + 1] (the reply and its
  end-of-turn marker, as mlx-lm's `mask_prompt` does for the last turn);
* prompt + completion: rendered as a user / assistant exchange when the tokenizer has a chat template (as
  mlx-lm does), otherwise as the plain concatenation prompt + completion + EOS; with `completion_only` only the
  completion tokens count.

Sequences are truncated to `max_seq_length` tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class Tokenization:
    """Turns one record into (tokens, loss mask) with a mlx-lm TokenizerWrapper (or a HF tokenizer)."""

    def __init__(self, tokenizer: Any, *, max_seq_length: int, completion_only: bool) -> None:
        self.tokenizer = tokenizer
        self.hf = getattr(tokenizer, "_tokenizer", tokenizer)
        self.max_seq_length = max_seq_length
        self.completion_only = completion_only
        self.eos_id = self.hf.eos_token_id
        self.has_chat_template = bool(
            getattr(tokenizer, "has_chat_template", False) or getattr(self.hf, "chat_template", None)
        )

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
                ids, flags = self._chat(
                    [
                        {"role": "user", "content": record.get("prompt", "")},
                        {"role": "assistant", "content": record["completion"]},
                    ]
                )
            else:
                ids, flags = self._plain(record.get("prompt", ""), record["completion"])
        else:
            ids, flags = self._plain("", record["text"], all_count=True)
        return self._arrays(ids, flags)

    def encode_answer(self, prompt: list[dict[str, Any]] | str, answer: str) -> tuple[np.ndarray, np.ndarray]:
        """A prompt and one answer to it (a side of a preference pair): tokens, and a mask of the answer's only.

        Earlier assistant turns of the prompt never count: a pair compares the two final answers.
        """
        if isinstance(prompt, str) and not self.has_chat_template:
            ids, flags = self._plain(prompt, answer, answer_only=True)
        else:
            turns = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
            ids, flags = self._chat([*turns, {"role": "assistant", "content": answer}], answer_only=True)
        return self._arrays(ids, flags)

    def _arrays(self, ids: list[int], flags: list[bool]) -> tuple[np.ndarray, np.ndarray]:
        """Tokens cut to max_seq_length, and the loss mask over their targets (one shorter)."""
        ids, flags = ids[: self.max_seq_length], flags[: self.max_seq_length]
        return np.asarray(ids, dtype=np.int32), np.asarray(flags[1:], dtype=np.float32)

    def _offsets(self, text: str, *, add_special_tokens: bool) -> tuple[list[int], list[tuple[int, int]]] | None:
        """Token ids of `text` and each token's character span in it; None if the tokenizer cannot say."""
        try:
            enc = self.hf(text, add_special_tokens=add_special_tokens, return_offsets_mapping=True)
            return list(enc["input_ids"]), [(int(a), int(b)) for a, b in enc["offset_mapping"]]
        except (NotImplementedError, KeyError, TypeError):
            return None  # not a "fast" tokenizer

    def _ids(self, text: str, *, add_special_tokens: bool) -> list[int]:
        return list(self.hf(text, add_special_tokens=add_special_tokens)["input_ids"])

    def _plain(
        self, prompt: str, completion: str, *, all_count: bool = False, answer_only: bool = False
    ) -> tuple[list[int], list[bool]]:
        """Prompt + completion as one string, and which tokens count.

        With completion_only (or answer_only), the tokens holding a completion character count; else all.
        """
        text = prompt + completion
        if all_count or not (self.completion_only or answer_only):
            ids = list(self.hf(text, add_special_tokens=True)["input_ids"])
            flags = [True] * len(ids)
        elif (found := self._offsets(text, add_special_tokens=True)) is not None:
            ids, offsets = found
            boundary = len(prompt)
            flags = [end > boundary and end > start for start, end in offsets]
        else:  # without offsets: the tokens after those the prompt alone shares with the whole
            ids = self._ids(text, add_special_tokens=True)
            shared = common_prefix(self._ids(prompt, add_special_tokens=True), ids)
            flags = [j >= shared for j in range(len(ids))]
        if self.eos_id is not None and (not ids or ids[-1] != self.eos_id):
            ids.append(self.eos_id)
            flags.append(True)
        return ids, flags

    # open: a record's chat messages go to the chat template as the user wrote them (name, tool calls, …)
    def _render(self, messages: list[dict[str, Any]], *, add_generation_prompt: bool) -> str:
        text: str = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )
        return text

    def _chat(self, messages: list[dict[str, Any]], *, answer_only: bool = False) -> tuple[list[int], list[bool]]:
        """The rendered conversation's ids, and which count.

        Every token counts, or with completion_only the assistant turns', or with answer_only the last one's.
        """
        if not self.has_chat_template:
            raise ValueError("the tokenizer has no chat template, so chat records cannot be rendered")
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        text = self._render(messages, add_generation_prompt=False)
        if not self.completion_only and not answer_only:
            ids = self._ids(text, add_special_tokens=False)
            return ids, [True] * len(ids)
        found = self._offsets(text, add_special_tokens=False)
        if found is None:  # without offsets: spans from decoding growing prefixes (the template text holds
            ids = self._ids(text, add_special_tokens=False)  # its special tokens, so they decode back to it)
            ends = [len(self.hf.decode(ids[: j + 1])) for j in range(len(ids))]
            found = ids, [(ends[j - 1] if j else 0, end) for j, end in enumerate(ends)]
        ids, offsets = found
        spans = self._assistant_spans(messages, text)[-1:] if answer_only else self._assistant_spans(messages, text)
        flags = [
            any(start < s_end and end > s_start for s_start, s_end in spans) and end > start for start, end in offsets
        ]
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
            except Exception:
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
            except Exception:
                pass
        empty = self._render(messages[:k] + [{**messages[k], "content": ""}], add_generation_prompt=False)
        return common_prefix(empty, upto)


def common_prefix(a: Sequence[Any], b: Sequence[Any]) -> int:
    """How many leading items `a` and `b` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
