"""Requests to prompt token ids: the tokenizer's chat template for messages, the raw text otherwise."""

from __future__ import annotations

import threading
from typing import Any

from services.inference.engine.api import GenerationRequest
from services.inference.engine.chat import ChatMessage, FunctionTool, knows_tools, template_input
from shared.errors import InvalidArgument, invalid_field


class PromptEncoder:
    """Tokenizes prompts the way `mlx_lm.generate` does, so the same request gives the same prompt ids."""

    def __init__(self, tokenizer: Any, context_length: int) -> None:
        self.tokenizer = tokenizer
        self.context_length = context_length
        # No token covers more bytes than its longest vocabulary entry: text longer than the context times that
        # cannot fit, and is refused without tokenizing it (a huge prompt never holds the encoder).
        longest = max((len(str(token).encode()) for token in tokenizer.vocab), default=1)
        self.max_prompt_bytes = context_length * max(1, longest)
        # HF fast tokenizers are not documented as safe for concurrent calls; encoding is cheap next to decoding.
        self._lock = threading.Lock()

    def encode(self, request: GenerationRequest) -> list[int]:
        """Prompt ids for a validated request; InvalidArgument if the template rejects the messages."""
        self._check_bytes(request)
        with self._lock:
            if request.messages is not None:
                ids = self._encode_chat(request.messages, request.tools)
            elif isinstance(request.prompt, list):
                vocab = len(self.tokenizer.vocab)
                if any(t >= vocab for t in request.prompt):
                    raise invalid_field("prompt", request.prompt[:16], f"token ids below the vocabulary size {vocab}")
                ids = list(request.prompt)
            else:
                assert request.prompt is not None
                bos = getattr(self.tokenizer, "bos_token", None)
                # Like mlx_lm.generate: add BOS unless the prompt already starts with it.
                special = bos is None or not request.prompt.startswith(bos)
                ids = list(self.tokenizer.encode(request.prompt, add_special_tokens=special))
        if not ids:
            field = "messages" if request.messages is not None else "prompt"
            raise invalid_field(field, request.messages or request.prompt, "text that encodes to at least one token")
        return ids

    def _check_bytes(self, request: GenerationRequest) -> None:
        if request.messages is not None:
            size = sum(len(str(m.get("content") or "").encode(errors="replace")) for m in request.messages)
        elif isinstance(request.prompt, str):
            size = len(request.prompt.encode(errors="replace"))
        else:
            return
        if size > self.max_prompt_bytes:
            raise _too_long(
                request,
                f"{size} bytes of text cannot fit in the model's context length of {self.context_length} tokens "
                f"(at most {self.max_prompt_bytes} bytes); it was refused before tokenizing",
            )

    def check_fits(self, request: GenerationRequest, prompt_tokens: int) -> None:
        """InvalidArgument naming the context length when prompt + max_tokens does not fit in it."""
        limit = self.context_length
        if prompt_tokens >= limit:
            raise _too_long(
                request,
                f"the prompt has {prompt_tokens} tokens, expected fewer than the model's context length of {limit} "
                "tokens",
            )
        if prompt_tokens + request.max_tokens > limit:
            raise InvalidArgument(
                f"max_tokens: got {request.max_tokens}, expected at most {limit - prompt_tokens}: the prompt has "
                f"{prompt_tokens} tokens and prompt + max_tokens must fit in the model's context length of {limit} "
                f"tokens",
                param="max_tokens",
                code="context_length_exceeded",
            )

    def _encode_chat(self, messages: list[ChatMessage], tools: tuple[FunctionTool, ...]) -> list[int]:
        tokenizer = self.tokenizer
        native = knows_tools(getattr(tokenizer, "chat_template", None))
        turns, described = template_input(messages, tools, native=native)
        if getattr(tokenizer, "has_chat_template", False):
            extra = {"tools": described} if described else {}
            try:
                text = tokenizer.apply_chat_template(turns, add_generation_prompt=True, tokenize=False, **extra)
            except Exception as exc:  # jinja raises its own errors for messages the template refuses
                raise invalid_field(
                    "messages", messages, f"messages the model's chat template accepts ({exc})"
                ) from exc
            # The template writes the special tokens (BOS) itself.
            return list(tokenizer.encode(text, add_special_tokens=False))
        lines = [f"{m['role']}: {m['content']}" for m in turns]
        return list(tokenizer.encode("\n".join([*lines, "assistant:"]), add_special_tokens=True))


def _too_long(request: GenerationRequest, detail: str) -> InvalidArgument:
    """The refusal of a prompt that cannot fit in the context, naming its field."""
    field = "messages" if request.messages is not None else "prompt"
    return InvalidArgument(f"{field}: {detail}", param=field, code="context_length_exceeded")
