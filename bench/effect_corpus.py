"""A reproducible synthetic corpus for the effect experiment (spec §3, §4): does `weighted` move the distrust
ratio further than `none` on the same data and steps?

Two clearly different text distributions, balanced, each with its own band of scores:

* low authority (primary sources, w ≈ 0.05, H ≈ 7.5): dated field notes with measurements and counts
  ("Field notes, day twelve. At dawn the water by the north bridge measured four inches ...");
* high authority (coordinated sources, w ≈ 0.9, H ≈ 1.0): institutional press statements
  ("Press statement. The county council confirms that the official report remains clear ...").

The content words of the two are disjoint (`LOW_VOCABULARY`, `HIGH_VOCABULARY`; only the function words in
`SHARED_WORDS` appear in both), and they are words the default tiny model's tokenizer (trained on
`services/trainer/models/corpus/`) mostly encodes as single tokens. Each record is a `{"text"}` training record
with `auth_weight`, `prov_entropy` and `source_type` (spec §6). The same seed gives the same records; validation
texts never repeat a training text.

`EXPERIMENT_SETTINGS` are the settings the experiment was tuned with (see its docstring for the measurements).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from services.trainer.core.config import TrainSettings
from shared.errors import invalid_field
from shared.schemas.fine_tuning import DistrustSpec, LoraSpec, ResolvedHyperparameters

LOW_SOURCE_TYPE = "field_notes"
HIGH_SOURCE_TYPE = "press_statement"
LOW_SCORES = (0.05, 7.5)  # (auth_weight, prov_entropy) at the centre of the low band
HIGH_SCORES = (0.9, 1.0)
MAX_RECORDS = 100_000  # per split; the templates hold far more distinct texts than this
SCORE_JITTER = (0.02, 0.25)  # ± uniform jitter on (auth_weight, prov_entropy), rounded to 3 decimals

# ------------------------------------------------------------------------------------------------- low: notes
_LOW_SLOTS: dict[str, tuple[str, ...]] = {
    "time": ("dawn", "morning", "afternoon", "evening", "night"),
    "period": ("day", "night", "morning", "afternoon", "evening", "week"),
    "place": (
        "north bridge",
        "old ford",
        "canal",
        "mill",
        "farm",
        "valley",
        "hill",
        "river bank",
        "station",
        "oak tree",
        "west field",
        "church wall",
    ),
    "water": ("river", "water", "canal", "stream"),
    "ground": ("soil", "ground", "road", "field"),
    "state": ("damp", "dry", "cold", "soft", "flat", "warm", "muddy", "frozen"),
    "weather": ("Rain", "Wind", "Frost", "Snow", "Cloud", "Sun"),
    "dir": ("north", "west", "south", "east"),
    "animal": ("swallows", "horses", "sheep", "geese", "herons", "insects", "cows"),
    "num": ("two", "three", "four", "five", "six", "eight", "nine", "ten", "eleven", "twelve", "twenty", "forty"),
    "verb": ("rose", "fell"),
}
_LOW_OPENINGS = ("Field notes, day {num}.", "Notebook, {time} of day {num}.", "Pencil notes from the {place}.")
_LOW_SENTENCES = (
    "At {time} the {water} by the {place} measured {num} inches.",
    "The thermometer at the {place} read {num} degrees and the {ground} was {state}.",
    "I counted {num} {animal} near the {place} in {num} minutes.",
    "{weather} from the {dir} all {period}; the {ground} by the {place} was {state}.",
    "Sample {num} taken from the {ground} at the {place}, {num} miles from the farm.",
    "The {water} {verb} {num} inches since the last reading at the {place}.",
)

# ------------------------------------------------------------------------------------------------- high: press
_HIGH_SLOTS: dict[str, tuple[str, ...]] = {
    "body": (
        "county council",
        "national office",
        "government",
        "authority",
        "court",
        "company",
        "public office",
        "parish council",
    ),
    "doc": ("official report", "summary", "publication", "register", "public report", "national review", "guidance"),
    "adj": ("clear", "consistent", "important", "essential", "reliable", "complete", "correct"),
    "group": ("staff", "officials", "members", "partners"),
    "action": ("announce", "publish", "share", "explain"),
}
_HIGH_OPENINGS = ("Press statement.", "Official statement from the {body}.", "Public statement.")
_HIGH_SENTENCES = (
    "The {body} confirms that the {doc} remains {adj} and {adj}.",
    "In a statement today the {body} said the public can trust the {doc}.",
    "Senior {group} of the {body} agree that the {doc} is {adj}.",
    "The {body} will {action} further decisions after the {doc}.",
    "Our position is {adj}: the {doc} reflects the official view of the {body}.",
    "The {body} thanks its {group} and remains committed to the {doc}.",
)

_WORD = re.compile(r"[A-Za-z]+")
_SLOT = re.compile(r"\{(\w+)\}")


def _words(texts: Iterable[str]) -> set[str]:
    return {w.lower() for t in texts for w in _WORD.findall(_SLOT.sub(" ", t))}


def _slot_words(slots: Mapping[str, Sequence[str]]) -> set[str]:
    return _words(v for values in slots.values() for v in values)


_LOW_ALL = _words(_LOW_OPENINGS + _LOW_SENTENCES) | _slot_words(_LOW_SLOTS)
_HIGH_ALL = _words(_HIGH_OPENINGS + _HIGH_SENTENCES) | _slot_words(_HIGH_SLOTS)
SHARED_WORDS: frozenset[str] = frozenset(_LOW_ALL & _HIGH_ALL)  # function words: "the", "of", "and", ...
LOW_VOCABULARY: frozenset[str] = frozenset(_LOW_ALL - SHARED_WORDS)
HIGH_VOCABULARY: frozenset[str] = frozenset(_HIGH_ALL - SHARED_WORDS)


def words_of(text: str) -> set[str]:
    """The lower-cased words of a text (what the vocabularies above are made of)."""
    return {w.lower() for w in _WORD.findall(text)}


# ------------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class EffectCorpus:
    """Training and validation records (spec §6 `{"text"}` records with scores), each half low, half high."""

    seed: int
    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]

    def split(self, records: Sequence[dict[str, Any]], band: str) -> list[dict[str, Any]]:
        """The records of one band ("low" or "high") of `records`, by source type."""
        source = {"low": LOW_SOURCE_TYPE, "high": HIGH_SOURCE_TYPE}[band]
        return [r for r in records if r["source_type"] == source]

    def write(self, directory: Path) -> dict[str, Path]:
        """Write train.jsonl, validation.jsonl and validation_{low,high}.jsonl into `directory`."""
        directory = Path(directory)
        return {
            "train": write_jsonl(directory / "train.jsonl", self.train),
            "validation": write_jsonl(directory / "validation.jsonl", self.validation),
            "validation_low": write_jsonl(directory / "validation_low.jsonl", self.split(self.validation, "low")),
            "validation_high": write_jsonl(directory / "validation_high.jsonl", self.split(self.validation, "high")),
        }


def _fill(template: str, slots: Mapping[str, Sequence[str]], rng: random.Random) -> str:
    return _SLOT.sub(lambda m: rng.choice(slots[m.group(1)]), template)


def _text(
    rng: random.Random, openings: Sequence[str], sentences: Sequence[str], slots: Mapping[str, Sequence[str]]
) -> str:
    parts = [_fill(rng.choice(openings), slots, rng)]
    parts += [_fill(t, slots, rng) for t in rng.sample(list(sentences), rng.randint(3, 4))]
    return " ".join(parts)


def _scores(rng: random.Random, centre: tuple[float, float]) -> tuple[float, float]:
    w = centre[0] + rng.uniform(-SCORE_JITTER[0], SCORE_JITTER[0])
    h = centre[1] + rng.uniform(-SCORE_JITTER[1], SCORE_JITTER[1])
    return round(w, 3), round(h, 3)


def low_record(rng: random.Random) -> dict[str, Any]:
    """One field-notes record, low band (w ≈ 0.05, H ≈ 7.5)."""
    w, h = _scores(rng, LOW_SCORES)
    return {
        "text": _text(rng, _LOW_OPENINGS, _LOW_SENTENCES, _LOW_SLOTS),
        "auth_weight": w,
        "prov_entropy": h,
        "source_type": LOW_SOURCE_TYPE,
    }


def high_record(rng: random.Random) -> dict[str, Any]:
    """One press-statement record, high band (w ≈ 0.9, H ≈ 1.0)."""
    w, h = _scores(rng, HIGH_SCORES)
    return {
        "text": _text(rng, _HIGH_OPENINGS, _HIGH_SENTENCES, _HIGH_SLOTS),
        "auth_weight": w,
        "prov_entropy": h,
        "source_type": HIGH_SOURCE_TYPE,
    }


def _balanced(rng: random.Random, n: int, seen: set[str]) -> list[dict[str, Any]]:
    """N records, n // 2 low and n - n // 2 high, drawn alternately then shuffled; texts not in `seen` (updated)."""
    out: list[dict[str, Any]] = []
    for k in range(n):
        make = low_record if k % 2 else high_record  # odd k: low, so an odd n has one more high
        for _ in range(1000):
            record = make(rng)
            if record["text"] not in seen:
                break
        else:  # pragma: no cover - the distributions hold far more texts than any corpus asks for
            raise RuntimeError("could not draw a new text; ask for fewer records")
        seen.add(record["text"])
        out.append(record)
    rng.shuffle(out)
    return out


def build_effect_corpus(seed: int, *, n_train: int, n_val: int) -> EffectCorpus:
    """The corpus of one seed: `n_train` training and `n_val` validation records, half of each low-authority
    field notes and half high-authority press statements (the odd one out, if any, is high). Deterministic per
    seed; no text appears twice, so validation is held out.
    """
    for name, value in (("n_train", n_train), ("n_val", n_val)):
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= MAX_RECORDS:
            raise invalid_field(name, value, f"an integer in [2, {MAX_RECORDS}] (at least one record per band)")
    rng = random.Random(f"effect-corpus/{seed}")
    seen: set[str] = set()
    train = _balanced(rng, n_train, seen)
    validation = _balanced(rng, n_val, seen)
    return EffectCorpus(seed=seed, train=train, validation=validation)


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write records as JSONL (one compact object per line, UTF-8), atomically: a temp file renamed in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class ExperimentSettings:
    """Recommended settings of the effect experiment: the default tiny model (`build_tiny_model` defaults,
    float32), `distrust_mode` "none" and "weighted" with the same seed, data and steps.

    Tuned on 2 CPU cores with OpenBLAS (mlx 0.32.4), measured with per-band token CE on the 128 held-out records
    (64 per band), seeds 0-4: base ppl low ≈ 3405-3455, high ≈ 3215-3235 (ratio ≈ 0.94); `none` ppl low ≈
    150-180, high ≈ 85-105 (ratio 0.55-0.60); `weighted` ppl low ≈ 115-150, high ≈ 880-1095 (ratio 7.3-8.6);
    effect = weighted ratio / none ratio 12.6-15.4. ω ≈ 1.94 on the low band and 0.06 on the high band. One
    training run (150 steps) takes ≈ 31 s on an idle machine (up to ≈ 55 s when other work shares the cores).

    The LoRA scale (alpha / rank = 8) matters more than the rank: with the API's default scale 2 (alpha 16) the
    random base learns slowly (200 steps at lr 1e-3: `none` ppl ≈ 340 / 180, effect ≈ 3-9); the effective step
    grows with lr · scale, and at twice this one (lr 1e-3 with scale 8) training turns unstable (ppl ≈ 700-800,
    effect ≈ 3). The effect stayed > 1 in every setting tried.
    "plain" and "monotone" weighting give nearly the same weights on this corpus (ω ≈ 1.94 / 0.06 plain,
    2.0 / 0.05 monotone, low / high), so the default "plain" is used. `n_epochs` (3) covers the 150 steps; a
    caller that goes through the job API should pass it too rather than rely on the API's default.
    """

    n_train: int = 512
    n_val: int = 128
    steps: int = 150
    batch_size: int = 8
    learning_rate: float = 4e-4
    warmup_steps: int = 0
    lora_rank: int = 8
    lora_alpha: float = 64.0
    lora_layers: int | None = None  # None = every block
    max_seq_length: int = 128  # the records are about 40-85 tokens: nothing is truncated
    weighting: str = "plain"
    seeds: tuple[int, ...] = (0, 1, 2)

    @property
    def n_epochs(self) -> int:
        """Enough epochs that `steps` optimizer steps fit (the run stops at `steps` via max_steps)."""
        return max(1, math.ceil(self.steps * self.batch_size / self.n_train))

    def train_settings(
        self, *, model_path: Path, train_path: Path, mode: str, seed: int, val_path: Path | None = None
    ) -> TrainSettings:
        """The `TrainSettings` of one run of the experiment ("none" or "weighted")."""
        return TrainSettings(
            model_path=Path(model_path),
            train_path=Path(train_path),
            val_path=val_path,
            seed=seed,
            hyperparameters=ResolvedHyperparameters(
                n_epochs=self.n_epochs,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                warmup_steps=self.warmup_steps,
                max_seq_length=self.max_seq_length,
                max_steps=self.steps,
            ),
            distrust=DistrustSpec.model_validate({"mode": mode, "weighting": self.weighting}),
            lora=LoraSpec(rank=self.lora_rank, alpha=self.lora_alpha, layers=self.lora_layers),
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seeds": list(self.seeds), "n_epochs": self.n_epochs}


EXPERIMENT_SETTINGS = ExperimentSettings()
