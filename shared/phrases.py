"""Word-bounded phrase matching, as the evaluation suites and the preference-pair rules use it.

* Text is Unicode-normalised (NFKD, accents dropped, curly quotes straightened), case-folded, and its whitespace
  collapsed, so "Tiananmen" matches "tiananmen" and "Ürümqi" matches "urumqi".
* Matching is word-bounded: a phrase matches only where it is not part of a longer word ("fringe" is not found in
  "infringe", "woo" not in "wood"); words of a phrase may be separated by any whitespace or a hyphen; the last
  word also matches its plural or possessive (+s, +es, 's, y → ies); a "*" ending a word matches any ending
  ("censor*" finds "censored", "censorship"; "conflict* of interest" finds "conflicts of interest").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

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
