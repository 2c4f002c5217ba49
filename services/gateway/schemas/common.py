"""Shapes shared by every resource: OpenAI's list envelope and error body."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")
UINT32_MAX = 2**32 - 1
# What fits the contracts' uint32 fields (counts, token ids); a larger number is a 400, not a crash in protobuf.
UInt32 = Annotated[int, Field(ge=0, le=UINT32_MAX)]
# Model, file and job names and ids are far shorter; a longer one is refused before any lookup.
Identifier = Annotated[str, Field(min_length=1, max_length=256)]


def estimate_tokens(prompts: Sequence[str | Sequence[int]]) -> int:
    """Tokens charged against a rate limit (OpenAI's estimate): a text's characters / 4, token ids as they are."""
    return sum(len(p) // 4 + 1 if isinstance(p, str) else len(p) for p in prompts)


class ListResponse(BaseModel, Generic[T]):
    """OpenAI's cursor-paginated list: `data`, `has_more`, and the first and last ids when known."""

    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


class ErrorDetail(BaseModel):
    """OpenAI's error object."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorDetail
