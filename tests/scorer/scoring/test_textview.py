"""The facts the fast path rests on, checked over every code point: matching lower-case patterns on
`TextView.folded` is the reference's IGNORECASE matching on the text, and the ASCII stand-in keeps every
character's class."""

from __future__ import annotations

import re
import string
import sys

from services.scorer.scoring.textview import TextView, ascii_stand_in

ALL = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
VOCABULARY = frozenset({"patent", "letter"})


def folded(text: str) -> str:
    return TextView(text, VOCABULARY).folded


def test_ignorecase_on_ascii_letters_equals_matching_the_folded_text() -> None:
    caseless = set(re.findall(r"[a-z]", ALL, re.IGNORECASE))
    assert caseless - set(string.ascii_letters) == {"\u0130", "\u0131", "\u017f", "\u212a"}
    for ch in caseless:
        fold = folded(ch)
        assert fold in string.ascii_lowercase and len(fold) == 1, ch
        assert re.fullmatch(fold, ch, re.IGNORECASE), ch
    # Conversely, nothing else folds onto an ASCII letter.
    onto_ascii = {ch for ch in ALL if len(low := ch.lower()) == 1 and low in string.ascii_lowercase}
    assert onto_ascii <= caseless


def test_folding_keeps_length_and_character_classes() -> None:
    text = ALL[:70000] + "\u0130\u0131\u017f"
    fold = folded(text)
    assert len(fold) == len(text)
    for pattern in (r"\w", r"\d", r"\s", r"\b"):
        assert [m.start() for m in re.finditer(pattern, fold)] == [m.start() for m in re.finditer(pattern, text)]


def test_ascii_stand_in_keeps_classes_and_positions() -> None:
    for text in (ALL[:3000], "naïve café — “quoted” ٣٤ \u00a0 x²", "\ud800 lone surrogate \udfff"):
        lower = text.lower()
        stand_in = ascii_stand_in(lower).decode("ascii")
        assert len(stand_in) == len(lower)
        for pattern in (r"\w", r"\d", r"\s"):
            assert [m.start() for m in re.finditer(pattern, stand_in)] == [
                m.start() for m in re.finditer(pattern, lower)
            ]


def test_tokens_and_hits() -> None:
    view = TextView("The PATENT, patents and patent3; a letter—letters; lettér.", VOCABULARY)
    assert view.tokens == ["the", "patent", "patents", "and", "patent3", "a", "letter", "letters", "lett_r"]
    assert view.hits == {"patent", "letter"}
    assert view.shape.startswith(b"aaa aaaaaa, aaaaaaa aaa aaaaaa0;")
