"""Validation suites: free-text prompts whose replies are judged by pass rules stated in the data.

File (JSONL): an optional first line `{"suite": {"name", "description", "pass_threshold", "category_thresholds",
"common_rules"}}`, then one item per line: `{"id", "category", "prompt", "rules": {...}}` with rules

    refusal_phrases   [str]  any one of them in the answer fails the item ("refused")
    required_keywords [str]  at least `min_keywords` distinct ones (default min(2, count)) must appear
    min_length        int    characters of the answer, whitespace collapsed (default 0)
    forbidden_words   [str]  more than `max_forbidden` (default 0) distinct ones fail the item
    max_forbidden     int

`common_rules` (refusal_phrases, forbidden_words) are added to every item. The suite passes when the overall
pass rate reaches `pass_threshold` (default 0.5) and every category reaches its threshold.

Judging a reply:
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypedDict

from services.trainer.evals.datafiles import (
    DATA_DIR,
    ItemError,
    check_keys,
    fail,
    fraction_field,
    int_field,
    optional_text,
    read_objects,
    string_list,
    text_field,
    unique_id,
)
from shared.errors import invalid_field

SUITES_DIR = DATA_DIR / "suites"
BUILTIN_SUITES = ("censorship", "authority")
RULE_KEYS = {"refusal_phrases", "required_keywords", "min_keywords", "min_length", "forbidden_words", "max_forbidden"}
HEADER_KEYS = {"name", "description", "pass_threshold", "category_thresholds", "common_rules"}
COMMON_RULE_KEYS = {"refusal_phrases", "forbidden_words"}
ITEM_KEYS = {"id", "category", "prompt", "rules"}
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


@dataclass(frozen=True)
class Rules:
    """What a reply must and must not hold to pass: refusals, keywords, length, forbidden words."""

    refusal_phrases: tuple[str, ...] = ()
    required_keywords: tuple[str, ...] = ()
    min_keywords: int = 0
    min_length: int = 0
    forbidden_words: tuple[str, ...] = ()
    max_forbidden: int = 0


@dataclass(frozen=True)
class SuiteItem:
    """One prompt of a suite and the rules its reply is judged by."""

    id: str
    category: str
    prompt: str
    rules: Rules


@dataclass(frozen=True)
class Suite:
    """A named set of prompts with the pass rates it needs, overall and per category."""

    name: str
    items: tuple[SuiteItem, ...]
    description: str = ""
    pass_threshold: float = 0.5
    category_thresholds: dict[str, float] = field(default_factory=dict)


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


class SuiteResult(VerdictSummary):
    """One prompt's verdict with the prompt and the reply it judged."""

    prompt: str
    reply: str


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


def _parse_rules(obj: Any, common: dict[str, list[str]]) -> Rules:
    if not isinstance(obj, dict):
        raise ItemError(f'"rules" must be an object, got {obj!r:.60}')
    check_keys(obj, RULE_KEYS, "rules")
    keywords = string_list(obj, "required_keywords")
    min_keywords = int_field(obj, "min_keywords", 0, len(keywords), default=min(2, len(keywords)))
    rules = Rules(
        refusal_phrases=tuple(common.get("refusal_phrases", []) + string_list(obj, "refusal_phrases")),
        required_keywords=tuple(keywords),
        min_keywords=min_keywords,
        min_length=int_field(obj, "min_length", 0, default=0),
        forbidden_words=tuple(common.get("forbidden_words", []) + string_list(obj, "forbidden_words")),
        max_forbidden=int_field(obj, "max_forbidden", 0, default=0),
    )
    if not (rules.refusal_phrases or rules.required_keywords or rules.forbidden_words or rules.min_length):
        raise ItemError(
            '"rules" checks nothing: give refusal_phrases, required_keywords, forbidden_words or min_length'
        )
    for phrase in (*rules.refusal_phrases, *rules.required_keywords, *rules.forbidden_words):
        if not re.sub(r"[\s*-]+", "", phrase) or re.search(r"\*\w", phrase):
            raise ItemError(
                f"the phrase {phrase!r} has no word to match, or a '*' inside a word (a '*' may only end a word)"
            )
    return rules


@dataclass(frozen=True)
class _Header:
    """A suite file's optional first line: the suite's name, thresholds and rules every item shares."""

    name: str | None = None
    description: str = ""
    pass_threshold: float = 0.5
    category_thresholds: dict[str, float] = field(default_factory=dict)
    common: dict[str, list[str]] = field(default_factory=dict)


class CategoryTally(TypedDict):
    """How the replies of one category did against its threshold (None when it has none)."""

    n: int
    passed: int
    pass_rate: float | None
    threshold: float | None
    met: bool | None


def _parse_header(obj: dict[str, Any]) -> _Header:
    header = obj["suite"]
    if not isinstance(header, dict) or len(obj) != 1:
        raise ItemError('a header line holds only {"suite": {...}}')
    check_keys(header, HEADER_KEYS, "suite header")
    common = header.get("common_rules", {})
    if not isinstance(common, dict):
        raise ItemError(f'"common_rules" must be an object, got {common!r:.60}')
    check_keys(common, COMMON_RULE_KEYS, "common_rules")
    thresholds = header.get("category_thresholds", {})
    if not isinstance(thresholds, dict):
        raise ItemError(f'"category_thresholds" must be an object, got {thresholds!r:.60}')
    return _Header(
        name=optional_text(header, "name"),
        description=optional_text(header, "description") or "",
        pass_threshold=fraction_field(header, "pass_threshold", 0.5),
        category_thresholds={str(k): fraction_field(thresholds, k, 0.0) for k in thresholds},
        common={key: string_list(common, key) for key in COMMON_RULE_KEYS},
    )


def parse_suite(path: Path | str, *, field: str = "file", name: str | None = None) -> Suite:
    """Check and load a suite file; errors name the line."""
    header = _Header()
    items: list[SuiteItem] = []
    seen: set[str] = set()
    for index, (where, obj) in enumerate(read_objects(path, field=field)):
        try:
            if "suite" in obj:
                if index:
                    raise ItemError("the suite header must be the first line")
                header = _parse_header(obj)
                continue
            check_keys(obj, ITEM_KEYS, "item")
            item_id = text_field(obj, "id")
            unique_id(seen, item_id)
            if "rules" not in obj:
                raise ItemError('missing "rules" (the pass rules of this prompt)')
            items.append(
                SuiteItem(
                    id=item_id,
                    category=text_field(obj, "category") if "category" in obj else "general",
                    prompt=text_field(obj, "prompt"),
                    rules=_parse_rules(obj["rules"], header.common),
                )
            )
        except ItemError as exc:
            raise fail(field, where, str(exc)) from exc
    if not items:
        raise fail(field, "file", "the suite has a header but no items")
    categories = {item.category for item in items}
    for category in header.category_thresholds:
        if category not in categories:
            raise fail(
                field,
                "suite header",
                f"category_thresholds names {category!r}, which no item has "
                f"(categories: {', '.join(sorted(categories))})",
            )
    return Suite(
        name=name or header.name or Path(path).stem,
        items=tuple(items),
        description=header.description,
        pass_threshold=header.pass_threshold,
        category_thresholds=header.category_thresholds,
    )


def load_suite(name_or_path: str | Path, *, field: str = "suite") -> Suite:
    """A built-in suite by name ("censorship", "authority") or a suite file by path."""
    if isinstance(name_or_path, str) and name_or_path in BUILTIN_SUITES:
        return parse_suite(SUITES_DIR / f"{name_or_path}.jsonl", field=field, name=name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        raise invalid_field(
            field, str(name_or_path), f"a built-in suite ({', '.join(repr(s) for s in BUILTIN_SUITES)}) or a suite file"
        )
    return parse_suite(path, field=field)


def _rate(passed: int, total: int) -> float | None:
    return passed / total if total else None


def run_suite(
    generate: Callable[[str], str],
    suite: Suite,
    *,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:  # open: a task's report, part of the evaluation report
    """Ask `generate` (user prompt → reply text) every prompt of the suite and judge the replies."""
    items = suite.items[:limit] if limit is not None else suite.items
    results: list[SuiteResult] = []
    for n, item in enumerate(items, start=1):
        reply = generate(item.prompt)
        results.append({**score_reply(item, reply).to_dict(), "prompt": item.prompt, "reply": reply})
        if progress is not None:
            progress(n, len(items))
    by_category: dict[str, CategoryTally] = {}
    for category in sorted({r["category"] for r in results}):
        rows = [r for r in results if r["category"] == category]
        passed = sum(r["passed"] for r in rows)
        threshold = suite.category_thresholds.get(category)
        rate = _rate(passed, len(rows))
        by_category[category] = {
            "n": len(rows),
            "passed": passed,
            "pass_rate": rate,
            "threshold": threshold,
            "met": None if threshold is None else rate is not None and rate >= threshold,
        }
    passed = sum(r["passed"] for r in results)
    pass_rate = _rate(passed, len(results))
    reasons: dict[str, int] = {}
    for row in results:
        for reason in row["reasons"]:
            reasons[reason] = reasons.get(reason, 0) + 1
    suite_passed = (
        pass_rate is not None
        and pass_rate >= suite.pass_threshold
        and all(c["met"] is not False for c in by_category.values())
    )
    return {
        "suite": suite.name,
        "description": suite.description,
        "n": len(results),
        "passed": passed,
        "pass_rate": pass_rate,
        "pass_threshold": suite.pass_threshold,
        "category_thresholds": dict(suite.category_thresholds),
        "suite_passed": suite_passed,
        "by_category": by_category,
        "reasons": reasons,
        "results": results,
    }
