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
