"""The `reference` profile against a straightforward port of the reference scorer (bench/scorer.py): the same
numbers on a varied generated corpus, on crafted edge cases and on random fragment soup that stresses every
shortcut the fast path takes (Unicode case folding, overlaps, word boundaries, pre-checks)."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from services.scorer.scoring import score_batch, score_document
from services.scorer.scoring.lexicons import (
    CONSENSUS_PHRASES,
    INSTITUTIONAL_MARKERS,
    INSTITUTIONAL_PLURALS,
    PRIMARY_SOURCE_MARKERS,
    PRIMARY_SOURCE_PLURALS,
    SOURCE_TYPE_PRIORS,
    SOURCE_TYPE_WORD_CUES,
)

TOLERANCE = 1e-6


def _load_bench() -> ModuleType:
    path = Path(__file__).resolve().parents[3] / "bench" / "scorer.py"
    spec = importlib.util.spec_from_file_location("distrust_bench_scorer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()

EDGE_TEXTS = [
    "İbid. and op. cİt. and loc cıt and the ſtudies ſhow: PUBLIſHED İN 1851 (Smİth, 2020) [KUHN 1962].",
    "In 1999 the book was publiſhed in 1851; ſcientific consensus and experts agree.",
    "İn 1999 it was PUBLIſHED İN 1851 and written in 1875.",
    "The Kelvin sign K: WRİTTEN 1875; ıbıd; experts agree; ©1999 and copyright 1234 then 1901.",
    "Patent US3456789 and us 12 and de\u00a0123 and bus 3 and EP0123 and fr-4 and wo\n7 and gb_9 here.",
    "Numbers ٣٤٥ and 1. Smith, Title, ٢٠٢٠ and 2.\u00a0Jones, Other title, 1999 and 3.\tAuthor, 2001.",
    "scientific consensuscientific consensus; experts agreexperts agree; well-established fact.",
    "ibidibid op.cit loc.cit op cit loc  cit opcit locit ibid. IBID",
    "Whole signature newsletter conscience officials wholesale somewhere — “quoted” naïve café.",
    "Letters, patents, observations; lab notebooks; oral history; first-hand; firsthand; field notes.",
    "A laboratory notebook and a lab notebook and laboratory notebooks; journal entry; journal entries.",
    "The original document, original research and primary sources; manuscripts; archive; archival.",
    "patent3 3patent patent_ _patent patent-pending un-patent PATENT Patent's patents'",
    "Social media and socialmedia and news-media, .gov and data.gov and x.govt and GOV.UK.",
    "The new england journal and New England Journals; peer-reviewed; peer reviewed; nejm; NIH; FDA.",
    "Reprinted 2003 … Published in 1851 by the author (Darwin 1859) and [1][2][3] [12a] [Smith2020].",
    "Copyright 0999 and published 2031, but 1999 appears later; also 2029 and 2030 and 1899.",
    "Ⅻ ² ³ ¼ are numeric but not decimal: 1²3 and 19⁰⁰ and (Smith, 2O20) with a letter O.",
    "x" * 1990 + " published in 1850 right across the window edge 1999",
    "x" * 1995 + " 1851 after the window",
    "ǅ ǈ ǋ titlecase letters; ß and ẞ; σ and ς; İstanbul İzmir; DİYARBAKIR.",
    "Ελληνικό κείμενο για την ιστορία: the patent, a letter (Σμιθ, 2019) [12] published in 1851; experts "
    "agree; Νέα Υόρκη, who, news, μαρτυρίες και επιστολές, ιστορικό αρχείο, αρχειακό υλικό, "
    "12. Παπάς, τίτλος, 1901.",
    "Lone \ud800 surrogate \udfff with the patent of 1851 and (Smith, 2019) and a diary.",
]
EDGE_METADATA: list[dict[str, Any] | None] = [
    None,
    {},
    {"year": 1923},
    {"year": 0, "date": "March 5, 1923"},
    {"year": "", "date": "circa", "publication_date": "2016-07-04"},
    {"published": "Published 1850s"},
    {"year": 5000},
    {"year": -20},
    {"source": "Nature Publishing", "url": "https://www.cdc.gov/x", "publisher": "a blog"},
    {"url": "https://who.int"},
    {"source_type": "patent_pre1970"},
    {"source_type": "Historical_Newspaper"},
    {"source_type": "book_scan", "year": "1901"},
    {"source_type": "wikipedia"},
    {"source_type": ""},
    {"source_type": "academic_paper", "publisher": "Oxford University Press"},
]

_FRAGMENTS = [
    *INSTITUTIONAL_MARKERS,
    *CONSENSUS_PHRASES,
    *PRIMARY_SOURCE_MARKERS,
    *(form for forms in INSTITUTIONAL_PLURALS.values() for form in forms),
    *(form for forms in PRIMARY_SOURCE_PLURALS.values() for form in forms),
    *(cue for cues in SOURCE_TYPE_WORD_CUES.values() for cue in cues),
    "us",
    "ep",
    "wo",
    "de",
    "gb",
    "fr",
    "ibid",
    "op.",
    "loc",
    "cit",
    "et al.",
    "copyright",
    "©",
    "published in",
    "written",
    "1851",
    "1969",
    "1970",
    "1994",
    "1995",
    "2024",
    "2031",
    "12",
    "3",
    "[",
    "]",
    "(",
    ")",
    ",",
    ".",
    ". ",
    " ",
    "  ",
    "\n",
    "\t",
    "\u00a0",
    "-",
    "_",
    "İ",
    "ı",
    "ſ",
    "K",
    "é",
    "—",
    "’",
    "٣",
    "²",
    "a",
    "s",
    "whole",
    "signature",
    "newsletter",
    "conscience",
    "Smith",
    "Jones",
    "THE",
    "Who",
    "NATURE",
]


def _soup(rng: random.Random) -> str:
    parts = [rng.choice(_FRAGMENTS) for _ in range(rng.randint(5, 90))]
    if rng.random() < 0.5:
        parts = [part.upper() if rng.random() < 0.2 else part for part in parts]
    joiners = ["", " ", " ", " ", ", ", ". ", "-"]
    return "".join(part + rng.choice(joiners) for part in parts)


def _corpus() -> list[tuple[str, dict[str, Any] | None]]:
    rng = random.Random(20240601)
    docs: list[tuple[str, dict[str, Any] | None]] = list(bench.synthetic_corpus(1500, seed=99))
    docs += [(text, metadata) for text in EDGE_TEXTS for metadata in EDGE_METADATA]
    types = [*SOURCE_TYPE_PRIORS, "news", "paper", "forum"]
    for _ in range(1500):
        metadata: dict[str, Any] | None = None
        if rng.random() < 0.4:
            metadata = {}
            if rng.random() < 0.5:
                metadata["source_type"] = rng.choice(types)
            if rng.random() < 0.3:
                metadata[rng.choice(("source", "url", "publisher"))] = _soup(rng)[:40]
            if rng.random() < 0.3:
                metadata[rng.choice(("year", "date", "publication_date", "published"))] = rng.choice(
                    (1850, 1999, 0, "", "c. 1870", "n.d.", _soup(rng)[:20])
                )
        docs.append((_soup(rng), metadata))
    return docs


CORPUS = _corpus()


def _naive(text: str, metadata: dict[str, Any] | None) -> tuple[float, float, str]:
    return next(bench.naive_score_batch([dict(metadata or {}, text=text)]))


def test_batch_matches_naive_reference_port() -> None:
    naive = list(bench.naive_score_batch(dict(metadata or {}, text=text) for text, metadata in CORPUS))
    fast = list(score_batch(CORPUS, profile="reference"))
    assert len(fast) == len(naive) == len(CORPUS)
    methods = {"default": 0, "dynamic": 0, "hybrid": 0}
    for index, ((w, h, method), result) in enumerate(zip(naive, fast, strict=True)):
        methods[method] += 1
        got = (result.auth_weight, result.prov_entropy, result.scoring_method)
        assert got == (pytest.approx(w, abs=TOLERANCE), pytest.approx(h, abs=TOLERANCE), method), (
            index,
            CORPUS[index],
        )
    assert min(methods.values()) > 50  # every path was exercised


@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_document_signals_match_naive_port(text: str) -> None:
    for metadata in EDGE_METADATA:
        if metadata and "source_type" in metadata:
            continue
        result = score_document(text, metadata, profile="reference")
        b = result.breakdown
        assert b.citation_count == bench.naive_count_citations(text)
        assert b.primary_count == bench.naive_count_primary(text)
        assert b.consensus_count == bench.naive_count_consensus(text)
        assert b.institutional_score == bench.naive_institutional(text, metadata)
        assert b.year == bench.naive_extract_year(text, metadata)
        assert b.source_counts == bench.naive_classify(text, metadata)
        # Same categories in the same order, so the entropy sum runs in the same order.
        assert list(b.source_counts) == list(bench.naive_classify(text, metadata))
        w, h = bench.naive_score_document(text, metadata)
        assert (result.auth_weight, result.prov_entropy) == (w, h)  # bit for bit


def test_known_citation_count_matches_naive_port() -> None:
    for text, metadata in CORPUS[:300]:
        if metadata and "source_type" in metadata:
            continue
        for known in (None, 0, 1, 7, 10**6):
            result = score_document(text, metadata, profile="reference", known_citation_count=known)
            assert result.auth_weight == bench.naive_authority(text, metadata, known)
