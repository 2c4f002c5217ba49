"""OpenAI's `/v1/embeddings`: vectors from a served base model (or base + adapter)."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from services.gateway.auth import admit
from services.gateway.deps import InferenceDep, PrincipalDep
from services.gateway.schemas.common import estimate_tokens
from services.gateway.schemas.embeddings import CreateEmbeddingResponse, Embedding, EmbeddingRequest, EmbeddingUsage

router = APIRouter(prefix="/v1", tags=["inference"])


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()


@router.post("/embeddings", summary="Embeddings (OpenAI-compatible): mean-pooled final hidden states, unit length")
async def create_embeddings(
    body: EmbeddingRequest, request: Request, principal: PrincipalDep, inference: InferenceDep
) -> CreateEmbeddingResponse:
    """Embed each input, in order."""
    await run_in_threadpool(admit, request, principal, tokens=estimate_tokens(body.inputs()))
    vectors, tokens = await inference.embed(principal.owner, body)
    return CreateEmbeddingResponse(
        data=[Embedding(index=i, embedding=_encoded(v, body.encoding_format)) for i, v in enumerate(vectors)],
        model=body.model,
        usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
    )
