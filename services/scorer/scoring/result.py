"""The scorer's results: the two scores plus a breakdown of every signal and term behind them."""

from __future__ import annotations

from typing import Final

from shared.schemas.scoring import Breakdown, ScoreResult

SCORING_DYNAMIC: Final = "dynamic"  # text and metadata signals only
SCORING_HYBRID: Final = "hybrid"  # 0.7·prior of the metadata `source_type` + 0.3·dynamic
SCORING_DEFAULT: Final = "default"  # score_batch: text under 50 characters gets fixed scores

__all__ = ["SCORING_DEFAULT", "SCORING_DYNAMIC", "SCORING_HYBRID", "Breakdown", "ScoreResult"]
