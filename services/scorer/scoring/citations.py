"""Citation counting (reference §2.2): six regex families, each counted with findall, summed.

The reference runs them case-insensitively on the text; here they run case-sensitively on `TextView.folded`,
which matches the same spans (and lets `re` use literal prefixes). Families that need a character the text
lacks are skipped. Both give the same counts.
"""

from __future__ import annotations

import re
from typing import Final

from services.scorer.scoring.lexicons import CITATION_PATTERNS
from services.scorer.scoring.textview import TextView

_NUMBERED, _AUTHOR_YEAR, _ET_AL, _BRACKET_YEAR, _, _BIBLIOGRAPHY = (re.compile(p) for p in CITATION_PATTERNS)
# Family 5 split by alternative, each with a literal prefix. No two occurrences of these alternatives can
# overlap, so their counts add up to the alternation's findall count.
_OP_CIT: Final = re.compile(r"op\.?\s*cit")
_LOC_CIT: Final = re.compile(r"loc\.?\s*cit")


def count_citations(view: TextView) -> int:
    """Citations in the text, not de-duplicated across families (reference behaviour)."""
    text = view.folded
    count = 0
    if "[" in text:
        count += len(_NUMBERED.findall(text)) + len(_BRACKET_YEAR.findall(text))
    if "(" in text:
        count += len(_AUTHOR_YEAR.findall(text)) + len(_ET_AL.findall(text))
    count += text.count("ibid")
    if "cit" in text:
        count += len(_OP_CIT.findall(text)) + len(_LOC_CIT.findall(text))
    return count + _count_bibliography(view)


def _count_bibliography(view: TextView) -> int:
    if not view.folds_exactly:  # `shape` is aligned with `lower`, not `folded`
        return len(_BIBLIOGRAPHY.findall(view.folded))
    # Every match contains a digit, a dot and whitespace; none can start before the first such digit, and a
    # match found from that digit ends where the one from the start of its digit run would.
    start = view.shape.find(b"0. ")
    if start < 0:
        return 0
    return len(_BIBLIOGRAPHY.findall(view.folded, start))
