"""Building preference pairs from candidate answers: the rule that picks the preferred and non-preferred answer.

* `provenance`: each candidate is scored (auth_weight, prov_entropy) and the one with the highest distrust signal
  (primary, diverse evidence) is preferred to the one with the lowest;
* `rules`: each candidate is judged by word-bounded rules (those of the evaluation suites): +1 per required
  keyword found, −1 per refusal phrase or forbidden word, −1 when shorter than `min_length` characters;
* `manual`: people's annotations (CSV exported from a spreadsheet, or JSONL: prompt, preferred, non_preferred).

A prompt whose best and worst candidates are level (a tie) or closer than `min_margin` makes no pair.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from shared.errors import invalid_field
from shared.schemas.request import RequestModel

PairRule = Literal["provenance", "rules", "manual"]
Phrase = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\w")]
PhraseList = Annotated[list[Phrase], Field(max_length=200)]


class PairRules(RequestModel):
    """The rules a candidate is judged by (the field names of an evaluation suite item's rules)."""

    required_keywords: PhraseList = Field(default_factory=list)
    refusal_phrases: PhraseList = Field(default_factory=list)
    forbidden_words: PhraseList = Field(default_factory=list)
    min_length: int = Field(default=0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _checks_something(self) -> Self:
        if not (self.required_keywords or self.refusal_phrases or self.forbidden_words or self.min_length):
            raise invalid_field(
                "pairs.rules",
                self.model_dump(),
                "rules that check something (keywords, refusals, forbidden words, length)",
            )
        return self


class PairOptions(RequestModel):
    """How a pair-building job picks each prompt's preferred and non-preferred answer."""

    rule: PairRule
    min_margin: float = Field(default=0.0, ge=0.0, le=1e6)
    rules: PairRules | None = None  # with rule "rules" only
    # A batch's input file: its requests give the prompts of the candidates in a batch output file, by custom_id.
    requests_file_id: str | None = None

    @model_validator(mode="after")
    def _rules_for_the_rules_rule(self) -> Self:
        if self.rule == "rules" and self.rules is None:
            raise invalid_field("pairs.rules", None, 'the rules to judge by, for rule "rules"')
        if self.rule != "rules" and self.rules is not None:
            raise invalid_field("pairs.rules", self.rules.model_dump(), f'nothing for rule "{self.rule}"')
        if self.rule == "manual" and self.requests_file_id is not None:
            raise invalid_field("pairs.requests_file_id", self.requests_file_id, 'nothing for rule "manual"')
        return self
