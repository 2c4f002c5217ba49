"""Document scoring: authority weight and provenance entropy with a breakdown of every signal.

Pure Python, no transport: the gRPC, HTTP and CLI layers call `score_document` / `score_batch`.
Profiles (distrust-method.md §5): `strict` (default) fixes the reference's matching defects; `reference`
reproduces the reference `citation_scorer` numbers exactly.

Methods, as in the reference: "hybrid" (0.7·prior + 0.3·dynamic) when the metadata has a `source_type`
string, else "dynamic". Short text follows the reference too: `score_document` scores any text, however
short, while `score_batch` gives text under SHORT_TEXT_CHARS (50) characters, empty included, the fixed
DEFAULT_AUTH_WEIGHT / DEFAULT_PROV_ENTROPY (0.50 / 3.0) with method "default", source_type or not.
"""

from services.scorer.scoring.batch import score_batch
from services.scorer.scoring.document import (
    DEFAULT_AUTH_WEIGHT,
    DEFAULT_PROV_ENTROPY,
    SHORT_TEXT_CHARS,
    score_document,
)
from services.scorer.scoring.profiles import DEFAULT_PROFILE, PROFILES
from services.scorer.scoring.result import Breakdown, ScoreResult
from services.scorer.scoring.validation import MAX_CHARS, validate_document

__all__ = [
    "DEFAULT_AUTH_WEIGHT",
    "DEFAULT_PROFILE",
    "DEFAULT_PROV_ENTROPY",
    "MAX_CHARS",
    "PROFILES",
    "SHORT_TEXT_CHARS",
    "Breakdown",
    "ScoreResult",
    "score_batch",
    "score_document",
    "validate_document",
]
