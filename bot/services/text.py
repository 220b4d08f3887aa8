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
# What may wrap a whole answer without being part of it (after NFKC: （）［］｢｣ are ()[]「」 by then).
_WRAPPERS = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’", "„": "“", "«": "»", "‹": "›", "「": "」",
             "『": "』", "(": ")", "[": "]", "{": "}", "【": "】", "〈": "〉", "《": "》", "〔": "〕", "〖": "〗"}
# The marks that end a sentence, as the key writes them (after NFKC: ！？． are !?. and … is ...).
_SENTENCE_END = {".": ".", "。": ".", "!": "!", "?": "?"}
_ENDINGS = "".join(set(_SENTENCE_END.values()))


def _blank(char: str) -> bool:
    """Spaces and invisible characters (zero-width space, control characters)."""
    return unicodedata.category(char)[0] in "ZC"


def _wrapped(text: str) -> bool:
    """The whole text is inside one pair of quotes or brackets ("C#", 「抹茶」, (Paris)), not two
    quoted parts side by side ("a" and "b") nor a bracket that belongs to the answer ((500) Days)."""
    if len(text) < 2 or _WRAPPERS.get(text[0]) != text[-1]:
        return False
    opener, closer, inner = text[0], text[-1], text[1:-1]
    if opener == closer:
        return opener not in inner
    depth = 0
    for char in inner:
        depth += (char == opener) - (char == closer)
        if depth < 0:
            return False
    return depth == 0


def answer_key(text: str) -> str:
    """The one rule for "the same answer" in a free-text quiz question. NFKC (full-width ＡＢＣ＃ and
    half-width ｶﾀｶﾅ become ABC# and カタカナ), case-folded, katakana read as hiragana (カタカナ = かたかな),
    spaces inside collapsed to one. Only what cannot change the meaning is taken off: spaces and
    invisible characters around the answer, quotes or brackets around the whole of it ("Paris",
    「パリ」), and the marks that end a sentence (. 。 ! ?), which stay at the end of the key once each
    ("Wow!!" -> "wow!", "パリ。" -> "ぱり."): see `answer_matches`. Every other mark is part of the
    answer: "C#" is not "C", ".NET" is not "NET", "¥500" is not "500". Nothing but punctuation: ""."""
    # NFKC again after casefold: folding may undo it ("ǰ" -> "ǰ"), and the key must be stable
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text or "").casefold()).translate(_KATAKANA)
    ending: list[str] = []
    while True:
        before = text
        start, end = 0, len(text)
        while start < end and _blank(text[start]):
            start += 1
        while end > start and (_blank(text[end - 1]) or text[end - 1] in _SENTENCE_END):
            if text[end - 1] in _SENTENCE_END:
                ending.insert(0, _SENTENCE_END[text[end - 1]])
            end -= 1
        text = text[start:end]
        if _wrapped(text):
            text = text[1:-1]
        if text == before:
            break
    if not text:
        return ""
    collapsed = [mark for i, mark in enumerate(ending) if i == 0 or ending[i - 1] != mark]  # "!!" is "!"
    return _SPACES.sub(" ", text) + "".join(collapsed)


def answer_body(key: str) -> str:
    """An answer key without the marks that end it: "wow!" -> "wow"."""
    return key.rstrip(_ENDINGS)


def answer_matches(typed: str, accepted: str) -> bool:
    """Whether what a member typed is the accepted answer: the same `answer_key`, or the same words
    with a sentence ending that the accepted answer does not have ("Paris." and "Paris!" are "Paris";
    "Wow" is not "Wow!", whose "!" belongs to the answer, and "Wow?" is not "Wow!" either)."""
    return typed_answer_in(answer_key(typed), frozenset({answer_key(accepted)}))


def typed_answer_in(typed_key: str, accepted_keys: frozenset[str]) -> bool:
    """`answer_matches` against a set of accepted keys (a question's `answers`, keyed once)."""
    return bool(typed_key) and (typed_key in accepted_keys or answer_body(typed_key) in accepted_keys)
