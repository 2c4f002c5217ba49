"""A chat request's `retrieval` resolved before generation: the stores searched, the context put in the messages."""

from __future__ import annotations

from services.gateway.inference_client import Inference
from services.gateway.schemas.chat import ChatCompletionRequest, ChatMessage
from services.retrieval.context import Citation, context_text, retrieve
from services.retrieval.service import VectorStoreService
from shared.errors import invalid_field


def _with_context(messages: list[ChatMessage], context: str) -> list[ChatMessage]:
    """The context as the first system message, after the caller's own system text when there is one."""
    first = messages[0] if messages else None
    if first is not None and first.role in ("system", "developer"):
        merged = ChatMessage(role=first.role, content=f"{first.text()}\n\n{context}")
        return [merged, *messages[1:]]
    return [ChatMessage(role="system", content=context), *messages]


async def grounded(
    stores: VectorStoreService, inference: Inference, owner: str, body: ChatCompletionRequest
) -> tuple[ChatCompletionRequest, list[Citation] | None]:
    """The request to generate (its messages carrying the retrieved chunks) and the citations; as is without it."""
    options = body.retrieval
    if options is None:
        return body, None
    query = options.query or next((m.text() for m in reversed(body.messages) if m.role == "user"), "")
    if not query.strip():
        raise invalid_field("retrieval.query", options.query, "a query, or a user message with text to search with")
    citations = await retrieve(stores, inference, owner, options, query)
    messages = _with_context(body.messages, context_text(citations)) if citations else body.messages
    return body.model_copy(update={"messages": messages, "retrieval": None}), citations
