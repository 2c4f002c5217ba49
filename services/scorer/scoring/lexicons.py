"""The scorer's lexicons and patterns, as data.

Copied exactly from the reference `citation_scorer` (reference-implementation.md Appendix A and §2.7); the
`strict` profile's plural forms (distrust-method.md §5) are the only additions. Nothing here is compiled;
`matchers.py` turns these into regexes.
"""

from __future__ import annotations

from typing import Final

# marker -> score; substring match in the reference, the maximum wins, capped at INSTITUTIONAL_CAP.
INSTITUTIONAL_MARKERS: Final[dict[str, float]] = {
    "nature": 0.35,
    "science": 0.35,
    "lancet": 0.35,
    "nejm": 0.35,
    "new england journal": 0.35,
    "who": 0.30,
    "cdc": 0.30,
    "fda": 0.30,
    "nih": 0.30,
    ".gov": 0.25,
    "government": 0.25,
    "official": 0.20,
    "university": 0.20,
    "institute": 0.18,
    "academy": 0.18,
    "journal": 0.15,
    "peer-reviewed": 0.15,
    "proceedings": 0.15,
    "wikipedia": 0.10,
    "news": 0.08,
    "media": 0.08,
    "blog": 0.05,
    "social media": 0.05,
}
INSTITUTIONAL_CAP: Final = 0.35
# Metadata fields searched for institutional markers, in this order, after the text.
INSTITUTIONAL_METADATA_FIELDS: Final = ("source", "url", "publisher")

# Substring; every occurrence counts.
CONSENSUS_PHRASES: Final = (
    "widely accepted",
    "experts agree",
    "scientific consensus",
    "established fact",
    "well-established",
    "mainstream view",
    "generally accepted",
    "overwhelming evidence",
    "settled science",
    "according to experts",
    "studies show",
    "research confirms",
)

# Word-bounded (`\b…\b`); every occurrence counts.
PRIMARY_SOURCE_MARKERS: Final = (
    "patent",
    "lab notebook",
    "laboratory notebook",
    "experiment",
    "experimental",
    "measurement",
    "observation",
    "field notes",
    "original research",
    "firsthand",
    "first-hand",
    "primary source",
    "original document",
    "manuscript",
    "archive",
    "archival",
    "oral history",
    "interview",
    "correspondence",
    "letter",
    "diary",
    "journal entry",
    "logbook",
    "specimen",
    "sample",
    "photograph",
    "scan",
    "facsimile",
)

# Case-insensitive on the original text; each family counted with findall, the counts summed.
CITATION_PATTERNS: Final = (
    r"\[\d+\]",
    r"\(\w+,?\s*\d{4}\)",
    r"\(\w+\s+et\s+al\.?,?\s*\d{4}\)",
    r"\[\w+\s*\d{4}\]",
    r"(?:ibid|op\.?\s*cit|loc\.?\s*cit)",
    r"\d+\.\s+\w+,.*?\d{4}",
)

# Year: metadata fields in order (first truthy value), then the text's first YEAR_TEXT_WINDOW characters.
YEAR_METADATA_FIELDS: Final = ("year", "date", "publication_date", "published")
YEAR_METADATA_PATTERN: Final = r"\b(1[0-9]{3}|20[0-2][0-9])\b"
YEAR_STATEMENT_PATTERN: Final = r"(?:copyright|©|published|written)\s*(?:in\s*)?(\d{4})"
YEAR_STANDALONE_PATTERN: Final = r"\b(1[89]\d{2}|20[0-2]\d)\b"
YEAR_TEXT_WINDOW: Final = 2000
YEAR_TEXT_MIN: Final = 1500
YEAR_TEXT_MAX: Final = 2030

# Source-type cues, in the reference's rule order (which is also the order of the counts dict).
SOURCE_TYPE_ORDER: Final = (
    "patent",
    "lab_notebook",
    "measurement",
    "archive",
    "oral_history",
    "academic_paper",
    "textbook",
    "news",
    "wiki",
    "government",
    "blog",
)
# Word-bounded cue words per category (each category adds at most +1 from text).
SOURCE_TYPE_WORD_CUES: Final[dict[str, tuple[str, ...]]] = {
    "patent": ("patent",),
    "measurement": ("measured", "observed", "recorded", "sampled"),
    "archive": ("archive", "archival", "manuscript", "historical"),
    "oral_history": ("interview", "oral history", "correspondence", "letter", "diary"),
    "academic_paper": ("abstract", "introduction", "methodology", "results", "conclusion", "references"),
    "textbook": ("textbook", "chapter", "exercise", "definition", "theorem"),
    "news": ("reported", "journalist", "news", "press release", "announcement"),
    "wiki": ("wikipedia", "wiki", "encyclopedia"),
    "government": ("government", "official", "regulation", "policy", "agency"),
    "blog": ("blog", "posted", "comment", "social media"),
}
# A patent number: one more +1 for "patent" (word start, no end boundary, so prose such as "us 3" fires).
PATENT_OFFICE_CODES: Final = ("us", "ep", "wo", "de", "gb", "fr")
PATENT_NUMBER_PATTERN: Final = r"\b(?:us|ep|wo|de|gb|fr)\s*\d+"
# lab_notebook: plain substrings, so "experimental" and "observations" count.
LAB_NOTEBOOK_SUBSTRINGS: Final = ("lab notebook", "laboratory", "experiment", "measurement", "observation")
# Metadata `source_type` (lower-cased): the first branch whose needle is contained wins.
SOURCE_TYPE_METADATA_RULES: Final[tuple[tuple[tuple[str, ...], str, int], ...]] = (
    (("patent",), "patent", 2),
    (("newspaper", "news"), "news", 1),
    (("wiki",), "wiki", 2),
    (("academic", "paper"), "academic_paper", 1),
    (("book",), "archive", 1),
)

# Hybrid priors (w0, H0) per known source type; any other source_type gets DEFAULT_PRIOR.
SOURCE_TYPE_PRIORS: Final[dict[str, tuple[float, float]]] = {
    "patent_pre1970": (0.05, 7.0),
    "classical_philosophy": (0.08, 7.5),
    "historical_book": (0.10, 6.0),
    "classical_literature": (0.10, 6.5),
    "classical_rhetoric": (0.12, 6.0),
    "historical_newspaper": (0.15, 6.0),
    "preprint": (0.50, 3.5),
    "logic_training": (0.55, 3.2),
    "academic_paper": (0.60, 3.0),
    "news_modern": (0.75, 1.5),
    "medical_guidelines": (0.85, 1.2),
    "wiki": (0.90, 1.0),
    "government": (0.95, 0.5),
}
DEFAULT_PRIOR: Final = (0.50, 3.0)

# strict only: plural forms that also count (distrust-method.md §5). Adjectives, acronyms, mass nouns and
# words already plural get none.
INSTITUTIONAL_PLURALS: Final[dict[str, tuple[str, ...]]] = {
    "government": ("governments",),
    "official": ("officials",),
    "university": ("universities",),
    "institute": ("institutes",),
    "academy": ("academies",),
    "journal": ("journals",),
    "new england journal": ("new england journals",),
    "blog": ("blogs",),
}
PRIMARY_SOURCE_PLURALS: Final[dict[str, tuple[str, ...]]] = {
    "patent": ("patents",),
    "lab notebook": ("lab notebooks",),
    "laboratory notebook": ("laboratory notebooks",),
    "experiment": ("experiments",),
    "measurement": ("measurements",),
    "observation": ("observations",),
    "primary source": ("primary sources",),
    "original document": ("original documents",),
    "manuscript": ("manuscripts",),
    "archive": ("archives",),
    "oral history": ("oral histories",),
    "interview": ("interviews",),
    "correspondence": ("correspondences",),
    "letter": ("letters",),
    "diary": ("diaries",),
    "journal entry": ("journal entries",),
    "logbook": ("logbooks",),
    "specimen": ("specimens",),
    "sample": ("samples",),
    "photograph": ("photographs",),
    "scan": ("scans",),
    "facsimile": ("facsimiles",),
}
