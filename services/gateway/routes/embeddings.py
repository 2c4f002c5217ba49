"""OpenAI's `/v1/embeddings`: vectors from a served base model (or base + adapter)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from services.gateway import replies
from services.gateway.auth import admit
from services.gateway.deps import InferenceDep, PrincipalDep
from services.gateway.schemas.common import estimate_tokens
from services.gateway.schemas.embeddings import CreateEmbeddingResponse, EmbeddingRequest

router = APIRouter(prefix="/v1", tags=["inference"])


@router.post("/embeddings", summary="Embeddings (OpenAI-compatible): mean-pooled final hidden states, unit length")
async def create_embeddings(
    body: EmbeddingRequest, request: Request, principal: PrincipalDep, inference: InferenceDep
) -> CreateEmbeddingResponse:
    """Embed each input, in order."""
    await run_in_threadpool(admit, request, principal, tokens=estimate_tokens(body.inputs()))
    return await replies.embeddings(inference, principal.owner, body)
