r"""One piece of text prepared once for every signal.

The text is lower-cased, tokenised into `\w+` runs, shaped for cheap pre-checks, and checked for the few
characters whose case folding differs between `str.lower()` and `re.IGNORECASE`.

Word-bounded lexicon matching (`\bterm\b`) is done on the tokens instead of with one regex per term: a
single-word term matches `\bterm\b` exactly when it equals a maximal `\w+` run, so one set intersection
with the profile's vocabulary finds every candidate.

Both the tokens and the shape come from an ASCII stand-in of the lower-cased text, one byte per character:
a non-ASCII character becomes " " if it is whitespace, "0" if a decimal digit, "_" if another word character,
else "#". Character classes (`\w`, `\d`, `\s`) and positions are kept, and no lexicon word contains "_",
so tokens equal to a lexicon word are exactly the ones in the real text.
"""

from __future__ import annotations

import codecs
from typing import Final

# ASCII byte -> itself if `\w`, else a space: `bytes.translate` + `split` gives the `\w+` runs.
_WORDS: Final = bytes(c if chr(c).isalnum() or c == 0x5F else 0x20 for c in range(128)) + bytes(128)
# ASCII byte -> b"a" for a letter, b"0" for a digit, b" " for whitespace, else itself (see `TextView.shape`).
_SHAPE: Final = bytes(
    0x61 if chr(c).isalpha() else 0x30 if chr(c).isdigit() else 0x20 if chr(c).isspace() else c for c in range(128)
) + bytes(128)
# The only characters where `re.IGNORECASE` on the text and a case-sensitive match on `text.lower()` disagree
# for patterns with ASCII letters: 'İ' lower-cases to two characters, 'ı' and 'ſ' match 'i' and 's' only under
# IGNORECASE. Replacing them first makes the two agree (checked over every code point).
_FOLD_FIXES: Final = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"))
# Above this many extra UTF-8 bytes, one `str.translate` beats an encode error callback per non-ASCII run.
_MANY_NON_ASCII: Final = 64
_STAND_IN_ERRORS: Final = "distrust.scoring.ascii_stand_in"
_STAND_IN_CACHE_MAX: Final = 8192


def _stand_in(ch: str) -> str:
    if ch.isspace():
        return " "
    if ch.isdecimal():
        return "0"
    if ch.isalnum() or ch == "_":
        return "_"
    return "#"


class _StandInTable(dict[int, str]):
    """A `str.translate` table that works out each non-ASCII character's stand-in on first sight."""

    def __missing__(self, codepoint: int) -> str:
        value = _stand_in(chr(codepoint))
        if len(self) < _STAND_IN_CACHE_MAX:  # bounded: arbitrary input must not grow it without limit
            self[codepoint] = value
        return value


_STAND_INS: Final = _StandInTable({c: chr(c) for c in range(128)})


def _stand_in_errors(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeEncodeError)
    return error.object[error.start : error.end].translate(_STAND_INS), error.end


codecs.register_error(_STAND_IN_ERRORS, _stand_in_errors)


def ascii_stand_in(lower: str) -> bytes:
    """`lower` as ASCII bytes, each non-ASCII character replaced by its one-byte stand-in."""
    if len(lower.encode("utf-8", "surrogatepass")) - len(lower) > _MANY_NON_ASCII:
        return lower.translate(_STAND_INS).encode("ascii")
    return lower.encode("ascii", _STAND_IN_ERRORS)


class TextView:
    r"""A text with its lower-cased form, its `\w+` tokens and the tokens of a vocabulary it contains.

    `shape` (aligned with `lower`, and with `folded` when `folds_exactly`) is the ASCII stand-in with each
    letter as b"a", each digit as b"0" and each whitespace character as b" ": "a digit, a dot and whitespace"
    is then one `bytes.find`, at the same position as in `lower`.
    """

    __slots__ = ("text", "lower", "folded", "folds_exactly", "tokens", "hits", "shape")

    def __init__(self, text: str, vocabulary: frozenset[str]) -> None:
        self.text = text
        self.lower = lower = text.lower()
        # `folded`: where a case-sensitive match of a lower-case pattern equals the reference's IGNORECASE
        # match on the text, same positions. It is `lower` unless the text has one of the _FOLD_FIXES.
        self.folded = lower
        self.folds_exactly = True
        if text.isascii():
            ascii_lower = lower.encode("ascii")
        else:
            ascii_lower = ascii_stand_in(lower)
            if any(odd in text for odd, _ in _FOLD_FIXES):
                self.folds_exactly = False
                for odd, plain in _FOLD_FIXES:
                    text = text.replace(odd, plain)
                self.folded = text.lower()
        self.shape = ascii_lower.translate(_SHAPE)
        self.tokens: list[str] = ascii_lower.translate(_WORDS).decode("ascii").split()
        self.hits: frozenset[str] = vocabulary.intersection(self.tokens)
