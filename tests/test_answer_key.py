"""The one rule for "the same typed answer" (bot.services.text.answer_key), as a generated suite: every
accepted answer, written every way a member might type it, matches; different answers never do."""
from __future__ import annotations

import itertools

import pytest

from bot.services.text import answer_key

ACCEPTED = ["Matcha", "Camellia sinensis", "まっちゃ", "ほうじ茶", "Earl Grey", "rock'n'roll", "42", "Sadō",
            "ぎょくろ", "C#"]


def full_width(text: str) -> str:
    """ASCII as a Japanese keyboard types it in full-width mode (ＡＢＣ, １２３, the ideographic space)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def half_width_katakana(text: str) -> str:
    """Hiragana typed as half-width katakana (ﾏｯﾁｬ), the way old phones and some IMEs write it."""
    table = str.maketrans("まっちゃほうじぎょくろ", "ﾏｯﾁｬﾎｳｼﾞｷﾞｮｸﾛ".replace("ｼﾞ", "\0").replace("ｷﾞ", "\1"))
    out = []
    for c in text:
        mapped = c.translate(table)
        out.append({"\0": "ｼﾞ", "\1": "ｷﾞ"}.get(mapped, mapped))
    return "".join(out)


VARIANTS = {
    "as written": lambda s: s,
    "upper case": str.upper,
    "lower case": str.lower,
    "full width": full_width,
    "katakana": katakana,
    "half-width katakana": half_width_katakana,
    "spaces around": lambda s: f"  {s}\t ",
    "ideographic spaces around": lambda s: f"\u3000{s}\u3000",
    "question mark": lambda s: f"{s}?",
    "exclamation marks": lambda s: f"{s}!!",
    "Japanese full stop": lambda s: f"{s}。",
    "quoted": lambda s: f'"{s}"',
    "corner brackets": lambda s: f"「{s}」",
    "full-width question mark": lambda s: f"{s}？",
    "zero-width space": lambda s: f"\u200b{s}\u200b",
    "upper, full width, punctuated": lambda s: full_width(s.upper()) + "！",
}


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
@pytest.mark.parametrize("accepted", ACCEPTED, ids=str)
def test_every_way_of_typing_an_accepted_answer_matches(accepted, variant):
    typed = VARIANTS[variant](accepted)
    assert answer_key(typed) == answer_key(accepted), (typed, answer_key(typed), answer_key(accepted))


@pytest.mark.parametrize("one,other", list(itertools.combinations(ACCEPTED, 2)), ids=str)
def test_different_answers_never_match(one, other):
    assert answer_key(one) != answer_key(other)


NOT_THE_SAME = [
    ("matcha", "macha"),                      # a typo is a wrong answer
    ("rock'n'roll", "rocknroll"),             # punctuation inside an answer counts
    ("Earl Grey", "EarlGrey"),                # so does the space between words
    ("Sadō", "Sado"),                         # and accents (a bank lists both spellings when both are fine)
    ("ほうじ茶", "ほうじちゃ"),                 # kanji are not read as kana
    ("42", "４２0"),
]


@pytest.mark.parametrize("one,other", NOT_THE_SAME, ids=str)
def test_what_still_counts(one, other):
    assert answer_key(one) != answer_key(other)


@pytest.mark.parametrize("typed", [f(a) for a in ACCEPTED for f in VARIANTS.values()] + ["ǰ", "ﬁ", "Å", "ß"],
                         ids=str)
def test_the_key_is_stable(typed):
    """Keying a key gives the same key (stored keys and typed answers can be compared either way)."""
    assert answer_key(answer_key(typed)) == answer_key(typed)


@pytest.mark.parametrize("typed", ["", "   ", "？！", "「」", "\u3000", "...", "\u200b"])
def test_punctuation_alone_is_no_answer(typed):
    assert answer_key(typed) == ""


def test_spaces_inside_are_one_space():
    assert answer_key("camellia \u3000  sinensis") == answer_key("Camellia sinensis") == "camellia sinensis"
