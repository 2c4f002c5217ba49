"""OpenAI's `/v1/embeddings`: vectors from a served base model (or base + adapter)."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter

from services.gateway.deps import InferenceDep, Owner
from services.gateway.schemas.embeddings import CreateEmbeddingResponse, Embedding, EmbeddingRequest, EmbeddingUsage

router = APIRouter(prefix="/v1", tags=["inference"])


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()


@router.post("/embeddings", summary="Embeddings (OpenAI-compatible): mean-pooled final hidden states, unit length")
async def create_embeddings(body: EmbeddingRequest, owner: Owner, inference: InferenceDep) -> CreateEmbeddingResponse:
    """Embed each input, in order."""
    vectors, tokens = await inference.embed(owner, body)
    return CreateEmbeddingResponse(
        data=[Embedding(index=i, embedding=_encoded(v, body.encoding_format)) for i, v in enumerate(vectors)],
        model=body.model,
        usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
    )
