"""The distrust blend: w = 0 keeps relevance order; w > 0 lifts primary evidence among relevant chunks only."""

from __future__ import annotations

import math

import pytest

from services.retrieval.index import Hit
from services.retrieval.ranking import blend
from shared.errors import InvalidArgument


def hit(name: str, relevance: float, auth_weight: float, prov_entropy: float) -> Hit:
    return Hit(name, 0, name, relevance, auth_weight, prov_entropy, {})


PRESS = hit("press release", 0.9, 0.8, 1.0)  # most relevant, coordinated authority
NOTEBOOK = hit("lab notebook", 0.7, 0.05, 4.0)  # primary, diverse
BLOG = hit("blog", 0.5, 0.3, 2.0)


IRRELEVANT_DIARY = hit("unrelated diary", 0.1, 0.0, 6.0)  # the best prior of all, but it does not answer


def test_zero_keeps_relevance_order_and_the_prior_lifts_relevant_primary_evidence_only() -> None:
    hits = [PRESS, NOTEBOOK, BLOG, IRRELEVANT_DIARY]
    assert [r.hit.file_id for r in blend(hits, 0.0)] == ["press release", "lab notebook", "blog", "unrelated diary"]
    assert [r.hit.file_id for r in blend(hits, 1.0)][:2] == ["lab notebook", "press release"]
    assert blend(hits, 1.0)[-1].hit.file_id == "unrelated diary"


def test_the_blended_score_is_the_stated_formula() -> None:
    ranked = {r.hit.file_id: r for r in blend([PRESS, NOTEBOOK, BLOG], 0.5)}
    c = {h.file_id: math.log(1 - h.auth_weight + 1e-8) + h.prov_entropy for h in (PRESS, NOTEBOOK, BLOG)}
    low, high = min(c.values()), max(c.values())
    press = 1.0 * (1 + 0.5 * (c["press release"] - low) / (high - low)) / 1.5
    assert ranked["press release"].score == pytest.approx(press) and ranked["blog"].score == 0.0
    assert ranked["blog"].prior == pytest.approx(c["blog"])
    assert ranked["lab notebook"].score == pytest.approx((0.7 - 0.5) / (0.9 - 0.5) * (1 + 0.5 * 1.0) / 1.5)


def test_a_weight_out_of_range_is_refused_naming_the_option() -> None:
    with pytest.raises(InvalidArgument, match="ranking_options.distrust"):
        blend([PRESS], 1.5)
    assert blend([], 0.3) == [] and blend([BLOG], 0.3)[0].score == pytest.approx(1.0)


def test_at_equal_relevance_the_primary_chunk_goes_above_the_official_one_as_soon_as_distrust_is_on() -> None:
    official = hit("agency statement", 0.8, 0.85, 1.5)
    primary = hit("field diary", 0.8, 0.05, 4.5)
    other = hit("other", 0.4, 0.5, 3.0)  # the pool needs a spread of relevance for the scaling
    assert [r.hit.file_id for r in blend([official, primary, other], 0.0)][:2] == ["agency statement", "field diary"]
    for weight in (0.1, 0.5, 1.0):
        assert [r.hit.file_id for r in blend([official, primary, other], weight)][0] == "field diary"
