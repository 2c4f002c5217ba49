"""Scoring a stream of documents lazily, in order, with the reference `score_batch` defaults.

Text shorter than 50 characters (empty included) gets auth_weight 0.50 and prov_entropy 3.0 with
scoring_method "default"; any other document is scored exactly as `score_document` would (hybrid with a
metadata `source_type`, else dynamic). Nothing is kept between documents, so memory stays flat on a stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from services.scorer.scoring.document import score_valid
from services.scorer.scoring.profiles import DEFAULT_PROFILE, Profile, get_profile
from services.scorer.scoring.result import ScoreResult
from services.scorer.scoring.validation import MAX_CHARS, validate_document, wrong_type


def score_batch(
    documents: Iterable[tuple[str, Mapping[str, Any] | None]],
    *,
    profile: str = DEFAULT_PROFILE,
    max_chars: int = MAX_CHARS,
) -> Iterator[ScoreResult]:
    """Yield one result per `(text, metadata)` pair, lazily and in order.

    An unknown profile raises at once; a bad document raises when the iterator reaches it, naming its index.
    """
    return _score_all(documents, get_profile(profile), max_chars)


def _score_all(
    documents: Iterable[tuple[str, Mapping[str, Any] | None]], scoring: Profile, max_chars: int
) -> Iterator[ScoreResult]:
    for index, document in enumerate(documents):
        if not isinstance(document, tuple | list) or len(document) != 2:
            raise wrong_type(f"documents[{index}]", document, "a (text, metadata) pair")
        text, metadata = document
        validate_document(text, metadata, index=index, max_chars=max_chars)
        yield score_valid(text, metadata, scoring, short_text_default=True)
