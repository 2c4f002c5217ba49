"""Preference pairs: by provenance (the distrust method applied to preferences), or from people's annotations.

Each answer to a prompt is scored (auth_weight, prov_entropy) and given its distrust signal c (shared/distrust.py):
high for primary, diverse evidence, low for coordinated authority. The answer with the highest c is preferred to
the one with the lowest; a prompt whose best and worst are level (a tie) or closer than `min_margin` makes no pair.
Input lines: `{"prompt": text | "messages": [...], "candidates": [answer, ...]}`; output lines: OpenAI's DPO
shape, with the rule, the margin and both answers' scores in `metadata`. Annotations: a CSV exported from a
spreadsheet, or JSONL, with the columns / keys `prompt`, `preferred`, `non_preferred`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from services.scorer.scoring.document import score_document
from shared.distrust import distrust_value
from shared.errors import InvalidArgument
from shared.phrases import find_phrases, normalise
from shared.records import RecordError, parse_json_object
from shared.schemas.preference_pairs import PairRules

MAX_CANDIDATES = 16


@dataclass(frozen=True)
class Candidates:
    """One prompt (chat messages, open as the user wrote them, or text) and its candidate answers."""

    line: int
    messages: list[dict[str, Any]]
    answers: list[str]


@dataclass
class PairReport:
    """What a build made: prompts read, pairs made, prompts dropped as ties or under the margin, the margins."""

    prompts: int = 0
    pairs: int = 0
    ties: int = 0
    below_margin: int = 0
    margins: list[float] = field(default_factory=list)

    def margin_quantiles(self) -> dict[str, float]:
        """Min / p25 / median / p75 / max of the pairs' margins (empty without pairs)."""
        if not self.margins:
            return {}
        ordered = sorted(self.margins)
        quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
        return {"min": ordered[0], "p25": quartiles[0], "median": quartiles[1], "p75": quartiles[2], "max": ordered[-1]}


def read_candidates(lines: Iterable[bytes], *, field_name: str) -> list[Candidates]:
    """Parse candidate lines; InvalidArgument naming the first bad line and why."""
    items: list[Candidates] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            items.append(_candidates(number, parse_json_object(raw)))
        except RecordError as exc:
            raise InvalidArgument(f"{field_name}: line {number}: {exc}", param=field_name) from exc
    if not items:
        raise InvalidArgument(f"{field_name}: the file has no prompts with candidates", param=field_name)
    return items


def _candidates(number: int, record: dict[str, Any]) -> Candidates:
    if isinstance(record.get("messages"), list) and record["messages"]:
        messages: list[dict[str, Any]] = record["messages"]
    elif isinstance(record.get("prompt"), str) and record["prompt"].strip():
        messages = [{"role": "user", "content": record["prompt"]}]
    else:
        raise RecordError('expected a non-empty "prompt" or "messages"')
    answers = record.get("candidates")
    if not isinstance(answers, list) or not 2 <= len(answers) <= MAX_CANDIDATES:
        raise RecordError(f'"candidates" must be an array of 2 to {MAX_CANDIDATES} answers')
    if not all(isinstance(a, str) and a.strip() for a in answers):
        raise RecordError('every one of "candidates" must be a non-empty string')
    return Candidates(number, messages, [str(a) for a in answers])


Notes = dict[str, Any]  # open: what a rule records of one answer in the pair's metadata


def _pairs_by(
    items: Iterable[Candidates],
    judge: Callable[[Candidates], tuple[list[float], list[Notes]]],
    rule: str,
    min_margin: float,
) -> tuple[list[dict[str, Any]], PairReport]:
    """Pairs preferring each prompt's highest-valued answer to its lowest, as `judge` values them; and the report."""
    pairs: list[dict[str, Any]] = []
    report = PairReport()
    for item in items:
        report.prompts += 1
        values, notes = judge(item)
        # equal values are ordered by the answers' text, not their place: a rule must not teach a position
        key = [(v, hashlib.sha256(a.encode()).hexdigest()) for v, a in zip(values, item.answers, strict=True)]
        best = max(range(len(values)), key=key.__getitem__)
        worst = min(range(len(values)), key=key.__getitem__)
        margin = float(values[best] - values[worst])
        if margin <= 0 or item.answers[best].strip() == item.answers[worst].strip():
            report.ties += 1
            continue
        if margin < min_margin:
            report.below_margin += 1
            continue
        report.pairs += 1
        report.margins.append(margin)
        pairs.append(
            {
                "input": {"messages": item.messages},
                "preferred_output": [{"role": "assistant", "content": item.answers[best]}],
                "non_preferred_output": [{"role": "assistant", "content": item.answers[worst]}],
                "metadata": {
                    "rule": rule,
                    "line": item.line,
                    "margin": margin,
                    "preferred": notes[best],
                    "non_preferred": notes[worst],
                },
            }
        )
    return pairs, report


def provenance_pairs(
    items: Iterable[Candidates], *, profile: str, min_margin: float = 0.0
) -> tuple[list[dict[str, Any]], PairReport]:
    """Pairs (OpenAI DPO records) preferring the answer with primary, diverse evidence; and the report."""

    def judge(item: Candidates) -> tuple[list[float], list[Notes]]:
        scored = [score_document(answer, profile=profile, index=i) for i, answer in enumerate(item.answers)]
        signal = distrust_value([s.auth_weight for s in scored], [s.prov_entropy for s in scored])
        notes = [{"auth_weight": s.auth_weight, "prov_entropy": s.prov_entropy} for s in scored]
        return [float(v) for v in signal], notes

    return _pairs_by(items, judge, "provenance", min_margin)


def rules_pairs(
    items: Iterable[Candidates], rules: PairRules, *, min_margin: float = 0.0
) -> tuple[list[dict[str, Any]], PairReport]:
    """Pairs preferring the answer the rules value most (see shared.schemas.preference_pairs); and the report."""

    def judge(item: Candidates) -> tuple[list[float], list[Notes]]:
        values, notes = [], []
        for answer in item.answers:
            text = normalise(answer)
            found = {
                "keywords": find_phrases(text, rules.required_keywords),
                "refusals": find_phrases(text, rules.refusal_phrases),
                "forbidden": find_phrases(text, rules.forbidden_words),
            }
            short = len(text) < rules.min_length
            values.append(float(len(found["keywords"]) - len(found["refusals"]) - len(found["forbidden"]) - short))
            notes.append({**found, "too_short": short})
        return values, notes

    return _pairs_by(items, judge, "rules", min_margin)


def batch_candidates(requests: Iterable[bytes], outputs: Iterable[bytes], *, field_name: str) -> list[Candidates]:
    """A batch's prompts (its input file's requests) and each one's choices (its output file), by custom_id.

    Requests without an answer, and answers of fewer than two distinct choices, are left out.
    """
    prompts: dict[str, list[dict[str, Any]]] = {}
    for number, raw in enumerate(requests, start=1):
        if raw.strip():
            line = _object(raw, number, "pairs.requests_file_id")
            body: dict[str, Any] = line["body"] if isinstance(line.get("body"), dict) else {}
            messages = body.get("messages") or (
                [{"role": "user", "content": body["prompt"]}] if isinstance(body.get("prompt"), str) else None
            )
            if isinstance(line.get("custom_id"), str) and messages:
                prompts[line["custom_id"]] = messages
    items = []
    for number, raw in enumerate(outputs, start=1):
        if not raw.strip():
            continue
        line = _object(raw, number, field_name)
        body = ((line.get("response") or {}).get("body")) or {}
        answers = [c.get("message", {}).get("content") or c.get("text") for c in body.get("choices", [])]
        answers = [a for a in answers if isinstance(a, str) and a.strip()]
        custom_id = line.get("custom_id")
        if custom_id in prompts and len({a.strip() for a in answers}) >= 2:
            items.append(Candidates(number, prompts[custom_id], answers[:MAX_CANDIDATES]))
    if not items:
        raise InvalidArgument(
            f"{field_name}: no answered request has two different choices (send the batch's requests with n >= 2)",
            param=field_name,
        )
    return items


def _object(raw: bytes, number: int, field_name: str) -> dict[str, Any]:
    try:
        return parse_json_object(raw)
    except RecordError as exc:
        raise InvalidArgument(f"{field_name}: line {number}: {exc}", param=field_name) from exc


ANNOTATION_COLUMNS = ("prompt", "preferred", "non_preferred")


def manual_pairs(data: bytes, *, field_name: str) -> tuple[list[dict[str, Any]], PairReport]:
    """Pairs from annotations (CSV with a header row, or JSONL); InvalidArgument naming the first bad line."""
    text = data.decode("utf-8-sig", errors="strict")
    rows = _jsonl_rows(text, field_name) if text.lstrip().startswith("{") else _csv_rows(text, field_name)
    pairs: list[dict[str, Any]] = []
    report = PairReport()
    for line, row in rows:
        report.prompts += 1
        values = {key: row.get(key) for key in ANNOTATION_COLUMNS}
        missing = [key for key, value in values.items() if not isinstance(value, str) or not value.strip()]
        if missing:
            raise InvalidArgument(f"{field_name}: line {line}: no {', '.join(missing)}", param=field_name)
        if str(values["preferred"]).strip() == str(values["non_preferred"]).strip():
            raise InvalidArgument(
                f"{field_name}: line {line}: preferred and non_preferred are the same answer", param=field_name
            )
        report.pairs += 1
        pairs.append(
            {
                "input": {"messages": [{"role": "user", "content": values["prompt"]}]},
                "preferred_output": [{"role": "assistant", "content": values["preferred"]}],
                "non_preferred_output": [{"role": "assistant", "content": values["non_preferred"]}],
                "metadata": {"rule": "manual", "line": line},
            }
        )
    if not pairs:
        raise InvalidArgument(f"{field_name}: no annotations", param=field_name)
    return pairs, report


def _csv_rows(text: str, field_name: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    absent = [c for c in ANNOTATION_COLUMNS if c not in (reader.fieldnames or [])]
    if absent:
        raise InvalidArgument(
            f"{field_name}: the header row lacks {', '.join(absent)} (expected {', '.join(ANNOTATION_COLUMNS)})",
            param=field_name,
        )
    return [(reader.line_num, dict(row)) for row in reader if any((v or "").strip() for v in row.values())]


def _jsonl_rows(text: str, field_name: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            try:
                rows.append((number, parse_json_object(raw)))
            except RecordError as exc:
                raise InvalidArgument(f"{field_name}: line {number}: {exc}", param=field_name) from exc
    return rows
