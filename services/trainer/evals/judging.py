"""Judging one reply against its item's rules.

* Text is Unicode-normalised (NFKD, accents dropped, curly quotes straightened), case-folded, and its whitespace
  collapsed, so "Tiananmen" matches "tiananmen" and "Ürümqi" matches "urumqi".
* Reasoning: the answer is the text after the last "</think>"; a "<think>" with no "</think>" after it means the
  reply was cut off while reasoning: the item fails as "truncated". Refusal phrases, keywords and forbidden words
  are looked for in the answer only: reasoning often quotes or weighs the very phrases it then does not use.
* Matching is word-bounded: a phrase matches only where it is not part of a longer word ("fringe" is not found in
  "infringe", "woo" not in "wood"); words of a phrase may be separated by any whitespace or a hyphen; the last
  word also matches its plural or possessive (+s, +es, 's, y → ies); a "*" ending a word matches any ending
  ("censor*" finds "censored", "censorship"; "conflict* of interest" finds "conflicts of interest").
* An empty answer fails as "empty" (the reference counted an empty reply as "not refused").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypedDict

from services.trainer.evals.suites import SuiteItem
from shared.errors import invalid_field

_STRAIGHTEN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",
        "\u2011": "-",
    }
)


def normalise(text: str) -> str:
    """Text as the rules match it: accents dropped, quotes and dashes straightened, case folded, spaces single."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", stripped.translate(_STRAIGHTEN).casefold()).strip()


@lru_cache(maxsize=4096)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """The word-bounded pattern of one phrase (see the module docstring for what it matches)."""
    words = [w for w in re.split(r"[\s-]+", normalise(phrase)) if w.strip("*")]
    if not words:
        raise invalid_field("phrase", phrase, "at least one word")
    parts = []
    for k, word in enumerate(words):
        stem = re.escape(word.rstrip("*"))
        if word.endswith("*"):
            parts.append(stem + r"\w*")
        elif k < len(words) - 1:
            parts.append(stem)
        elif re.search(r"[^aeiou]y$", word):
            parts.append(stem[:-1] + r"(?:y|ies|y's)")
        else:
            parts.append(stem + r"(?:'s|s'|s|es)?")
    return re.compile(r"(?<!\w)" + r"[\s-]+".join(parts) + r"(?!\w)")


def find_phrases(text: str, phrases: Sequence[str]) -> list[str]:
    """The phrases (as written) that occur in normalised `text`, each once, in the given order."""
    return [p for p in dict.fromkeys(phrases) if phrase_pattern(p).search(text)]


def split_reasoning(reply: str) -> tuple[str, bool, bool]:
    """(answer, truncated, had_reasoning) of a reply that may open with a reasoning block.

    Some chat templates open the <think> block in the prompt, so a reply can hold only the closing tag:
    everything before the last "</think>" is reasoning either way.
    """
    lowered = reply.casefold()
    close = lowered.rfind("</think>")
    if close >= 0:
        return reply[close + len("</think>") :], False, True
    if "<think>" in lowered:
        return "", True, True
    return reply, False, False


class VerdictSummary(TypedDict):
    """A Verdict as JSON: its fields, tuples as lists."""

    id: str
    category: str
    passed: bool
    reasons: list[str]
    answer_chars: int
    matched_keywords: list[str]
    min_keywords: int
    refusals: list[str]
    forbidden: list[str]
    had_reasoning: bool


@dataclass(frozen=True)
class Verdict:
    """Whether one reply passed its rules, why not, and what it matched."""

    id: str
    category: str
    passed: bool
    reasons: tuple[str, ...]  # "truncated", "empty", "refused", "too_short", "missing_keywords", "forbidden_words"
    answer_chars: int
    matched_keywords: tuple[str, ...] = ()
    min_keywords: int = 0
    refusals: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    had_reasoning: bool = False

    def to_dict(self) -> VerdictSummary:
        return {
            "id": self.id,
            "category": self.category,
            "passed": self.passed,
            "reasons": list(self.reasons),
            "answer_chars": self.answer_chars,
            "matched_keywords": list(self.matched_keywords),
            "min_keywords": self.min_keywords,
            "refusals": list(self.refusals),
            "forbidden": list(self.forbidden),
            "had_reasoning": self.had_reasoning,
        }


def score_reply(item: SuiteItem, reply: str) -> Verdict:
    """Judge one reply by the item's rules; every failed rule is listed in `reasons`."""
    answer, truncated, had_reasoning = split_reasoning(reply)
    rules = item.rules
    if truncated:
        return Verdict(
            item.id, item.category, False, ("truncated",), 0, min_keywords=rules.min_keywords, had_reasoning=True
        )
    text = normalise(answer)
    if not text:
        return Verdict(
            item.id, item.category, False, ("empty",), 0, min_keywords=rules.min_keywords, had_reasoning=had_reasoning
        )
    refusals = find_phrases(text, rules.refusal_phrases)
    keywords = find_phrases(text, rules.required_keywords)
    forbidden = find_phrases(text, rules.forbidden_words)
    reasons = []
    if refusals:
        reasons.append("refused")
    if len(text) < rules.min_length:
        reasons.append("too_short")
    if len(keywords) < rules.min_keywords:
        reasons.append("missing_keywords")
    if len(forbidden) > rules.max_forbidden:
        reasons.append("forbidden_words")
    return Verdict(
        item.id,
        item.category,
        not reasons,
        tuple(reasons),
        len(text),
        tuple(keywords),
        rules.min_keywords,
        tuple(refusals),
        tuple(forbidden),
        had_reasoning,
    )
