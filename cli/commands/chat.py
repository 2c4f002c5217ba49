"""`distrust chat`: a conversation with a model in the terminal, replies streamed as they are generated."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import TextIO

from cli.client import GatewayClient
from services.gateway.schemas.chat import ChatCompletionChunk
from services.retrieval.context import Citation


def stream_reply(
    client: GatewayClient,
    model: str,
    messages: list[dict[str, str]],
    options: Mapping[str, object],
    cited: list[Citation] | None = None,
) -> Iterator[str]:
    """Text deltas of one streamed chat completion of `messages` by `model`, with `options`.

    `options` are sampling options and `retrieval`; a reply's citations are added to `cited`.
    """
    body = {"model": model, "messages": messages, **options, "stream": True}
    for chunk in client.stream_events(ChatCompletionChunk, "POST", "/v1/chat/completions", json=body):
        if chunk.citations and cited is not None:
            cited.extend(chunk.citations)
        for choice in chunk.choices:
            if content := choice.delta.content:
                yield content


def chat_loop(
    client: GatewayClient,
    model: str,
    *,
    system: str | None,
    options: Mapping[str, object],  # max_tokens, temperature, seed (OpenAI's names), retrieval
    source: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> int:
    """Read user turns from `source` (one per line) until EOF or `/exit`; return the number of replies."""
    history: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    replies = 0
    interactive = source.isatty()
    while True:
        if interactive:
            out.write("you> ")
            out.flush()
        line = source.readline()
        if not line or line.strip() in ("/exit", "/quit"):
            return replies
        if not line.strip():
            continue
        history.append({"role": "user", "content": line.rstrip("\n")})
        out.write(f"{model}> ")
        parts: list[str] = []
        cited: list[Citation] = []
        for delta in stream_reply(client, model, history, options, cited):
            parts.append(delta)
            out.write(delta)
            out.flush()
        out.write("\n")
        for c in cited:
            out.write(
                f"  [{c.index}] {c.filename}#{c.chunk_index} (score {c.score:.2f}, authority {c.auth_weight:.2f})\n"
            )
        history.append({"role": "assistant", "content": "".join(parts)})
        replies += 1
