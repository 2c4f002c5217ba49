"""OpenAI's response objects from the inference service's generations: the one place a reply is built.

The HTTP routes (non-streaming answers, and the streaming ones' final pieces) and the batch runner use these, so a
batch line's `response.body` is exactly what the same request over HTTP returns.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Sequence

import numpy as np

from services.gateway import tools
from services.gateway.inference_client import ChoiceResult, Final, Inference, Logprob, usage_of
from services.gateway.logprobs import chat_logprobs, completion_logprobs
from services.gateway.schemas.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionRequest
from services.gateway.schemas.chat import Choice as ChatChoice
from services.gateway.schemas.completions import Completion, CompletionChoice, CompletionRequest
from services.gateway.schemas.embeddings import CreateEmbeddingResponse, Embedding, EmbeddingRequest, EmbeddingUsage


def new_chat_id() -> tuple[str, int]:
    """A chat completion's id and creation time."""
    return "chatcmpl-" + secrets.token_hex(12), int(time.time())


def new_completion_id() -> tuple[str, int]:
    """A completion's id and creation time."""
    return "cmpl-" + secrets.token_hex(12), int(time.time())


def chat_completion_of(body: ChatCompletionRequest, results: list[ChoiceResult]) -> ChatCompletion:
    """The whole chat completion of finished generations."""
    ident, created = new_chat_id()
    return ChatCompletion(
        id=ident,
        created=created,
        model=body.model,
        usage=usage_of([r.final for r in results]),
        choices=[chat_choice(body, r.text, r.final, r.logprobs) for r in results],
    )


def completion_of(body: CompletionRequest, results: list[ChoiceResult]) -> Completion:
    """The whole completion of finished generations."""
    ident, created = new_completion_id()
    return Completion(
        id=ident,
        created=created,
        model=body.model,
        usage=usage_of([r.final for r in results]),
        choices=[completion_choice(body, r) for r in results],
    )


async def chat_completion(
    inference: Inference, owner: str, body: ChatCompletionRequest, *, request_id: str = ""
) -> ChatCompletion:
    """Generate a chat reply and wait for all of it."""
    generation = await inference.generate(owner, body, request_id=request_id)
    return chat_completion_of(body, await generation.collect())


async def completion(inference: Inference, owner: str, body: CompletionRequest, *, request_id: str = "") -> Completion:
    """Continue the prompt(s) and wait for all of it."""
    generation = await inference.generate(owner, body, request_id=request_id)
    return completion_of(body, await generation.collect())


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()


async def embeddings(inference: Inference, owner: str, body: EmbeddingRequest) -> CreateEmbeddingResponse:
    """Each input's vector, in order."""
    vectors, tokens = await inference.embed(owner, body)
    return CreateEmbeddingResponse(
        data=[Embedding(index=i, embedding=_encoded(v, body.encoding_format)) for i, v in enumerate(vectors)],
        model=body.model,
        usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
    )


def chat_choice(body: ChatCompletionRequest, text: str, final: Final, logprobs: Sequence[Logprob] = ()) -> ChatChoice:
    """One choice of a chat reply: its text (and its tokens' logprobs), or the tool calls in it."""
    if body.calls_tools and body.tools:
        constrained = bool(tools.forced(body.tools, body.tool_choice))
        parallel = body.parallel_tool_calls is not False
        calls = tools.parse_calls(text, body.tools, constrained=constrained, parallel=parallel)
        if calls:
            message = ChatCompletionMessage(content=None, tool_calls=calls)
            return ChatChoice(index=final.index, message=message, finish_reason="tool_calls")
    return ChatChoice(
        index=final.index,
        message=ChatCompletionMessage(content=text),
        finish_reason=final.finish_reason,
        logprobs=chat_logprobs(logprobs) if body.logprobs else None,
    )


def echoed(body: CompletionRequest, prompt: int, tokens: Sequence[Logprob]) -> str:
    """The prompt as sent when it was text (its tokens' texts would add the BOS the model was given)."""
    sent = body.prompts()[prompt]
    return sent if isinstance(sent, str) else "".join(t.text for t in tokens)


def completion_choice(body: CompletionRequest, result: ChoiceResult) -> CompletionChoice:
    """One whole completion: the echoed prompt (when asked) then the text, with their tokens' logprobs."""
    prompt = echoed(body, result.final.prompt, result.echo) if body.echo else ""
    tokens = [*result.echo, *result.logprobs] if body.echo else result.logprobs
    return CompletionChoice(
        index=result.final.index,
        text=prompt + result.text,
        logprobs=None if body.logprobs is None else completion_logprobs(tokens),
        finish_reason=result.final.finish_reason,
    )
