"""Comparing what members typed: two texts that differ only in case, spacing, punctuation or character
width (full-width ＡＢＣ, ？) say the same thing. An AMA question or a prompt suggestion that says the
same as one already there is refused (bot/services/ama.py, bot/services/participation/prompts.py)."""
from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[\W_]+")


def same_text_key(text: str) -> str:
    """The text reduced to what it says: NFKC (width), case-folded, every run of punctuation, symbols
    and spaces one space. Equal keys: the same text."""
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text or "").casefold()).strip()


# --- free-text quiz answers -----------------------------------------------------------------------------
_KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)} | {0x30FD: 0x309D, 0x30FE: 0x309E}  # ァ..ヶ ヽヾ
_SPACES = re.compile(r"\s+")


def _edge(char: str) -> bool:
    """Punctuation, spaces and invisible characters: what may be trimmed from either end of an answer."""
    return unicodedata.category(char)[0] in "PZC"


def answer_key(text: str) -> str:
    """The one rule for "the same answer" in a free-text quiz question: NFKC (full-width ＡＢＣ and
    half-width ｶﾀｶﾅ become ABC and カタカナ), case-folded, katakana read as hiragana (カタカナ = かたかな),
    spaces inside collapsed to one, and punctuation and spaces around the answer dropped ("Paris!" =
    "paris"). Punctuation inside stays ("rock'n'roll" is not "rocknroll"). Equal keys: the same answer."""
    # NFKC again after casefold: folding may undo it ("ǰ" -> "ǰ"), and the key must be stable
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text or "").casefold()).translate(_KATAKANA)
    start, end = 0, len(text)
    while start < end and _edge(text[start]):
        start += 1
    while end > start and _edge(text[end - 1]):
        end -= 1
    return _SPACES.sub(" ", text[start:end])
