"""Validation suites: free-text prompts whose replies are judged by pass rules stated in the data.

File (JSONL): an optional first line `{"suite": {"name", "description", "pass_threshold", "category_thresholds",
"common_rules"}}`, then one item per line: `{"id", "category", "prompt", "rules": {...}}` with rules

    refusal_phrases   [str]  any one of them in the answer fails the item ("refused")
    required_keywords [str]  at least `min_keywords` distinct ones (default min(2, count)) must appear
    min_length        int    characters of the answer, whitespace collapsed (default 0)
    forbidden_words   [str]  more than `max_forbidden` (default 0) distinct ones fail the item
    max_forbidden     int

`common_rules` (refusal_phrases, forbidden_words) are added to every item. The suite passes when the overall
pass rate reaches `pass_threshold` (default 0.5) and every category reaches its threshold. How a reply is judged: `judging.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
