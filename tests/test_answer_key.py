"""The one rule for "the same typed answer" (bot.services.text.answer_key / answer_matches), as a
generated suite: every accepted answer, written every way a member might type it, matches; different
answers never do; and punctuation that is part of an answer (C#, .NET, "Wow!", ¥500) counts, in
English and Japanese (＃, ＋, ．, 。), both ways round."""
from __future__ import annotations

import itertools
import unicodedata

import pytest

from bot.services.text import answer_key, answer_matches

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
    "full stop": lambda s: f"{s}.",
    "full-width full stop": lambda s: f"{s}．",
    "half-width ideographic full stop": lambda s: f"{s}｡",
    "ellipsis": lambda s: f"{s}…",
    "quoted, then a full stop": lambda s: f"「{s}」。",
    "full stop inside the quotes": lambda s: f'"{s}."',
    "curly quotes": lambda s: f"“{s}”",
    "full-width brackets": lambda s: f"（{s}）",
    "lenticular brackets": lambda s: f"【{s}】",
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
    assert answer_matches(typed, accepted), (typed, answer_key(typed), answer_key(accepted))


@pytest.mark.parametrize("one,other", list(itertools.combinations(ACCEPTED, 2)), ids=str)
def test_different_answers_never_match(one, other):
    assert answer_key(one) != answer_key(other)
    assert not answer_matches(one, other) and not answer_matches(other, one)


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
    assert not answer_matches(one, other) and not answer_matches(other, one)


@pytest.mark.parametrize("typed", [f(a) for a in ACCEPTED for f in VARIANTS.values()] + ["ǰ", "ﬁ", "Å", "ß"],
                         ids=str)
def test_the_key_is_stable(typed):
    """Keying a key gives the same key (stored keys and typed answers can be compared either way)."""
    assert answer_key(answer_key(typed)) == answer_key(typed)


@pytest.mark.parametrize("typed", ["", "   ", "？！", "「」", "\u3000", "...", "\u200b", "。", "（！）", '"?"'])
def test_punctuation_alone_is_no_answer(typed):
    assert answer_key(typed) == ""


def test_spaces_inside_are_one_space():
    assert answer_key("camellia \u3000  sinensis") == answer_key("Camellia sinensis") == "camellia sinensis"


# --- punctuation that is part of the answer (issue 20's closing note: "C#" matched "C") -----------------
# Each of these answers has marks that belong to it. Taking them off (what a careless normaliser does)
# gives a different answer, which must not match either way round.
SYMBOLIC = ["C#", "F#", "C++", ".NET", "¥500", "★", "#1", "-5", "+81", "@home", "A*", "100%", "C♯",
            "Ｃ＃", "Ｆ＃", "Ｃ＋＋", "．ＮＥＴ", "￥５００", "☆", "＃１", "＋８１", "１００％", "Ａ＊"]
_MARKS = "#+.*%@♯-¥★☆＃＋．＊％＠￥"


def without_marks(text: str) -> str:
    """The answer with the marks around it taken off: "C#" -> "C", ".NET" -> "NET", "¥500" -> "500"."""
    return text.strip(_MARKS)


def symbol_variants(text: str) -> dict[str, str]:
    """How members type an answer with symbols in it: the other width, other case, quoted, with a
    final full stop."""
    half = unicodedata.normalize("NFKC", text)
    return {"as written": text, "half width": half, "full width": full_width(half), "upper": text.upper(),
            "lower": text.lower(), "quoted": f'"{text}"', "corner brackets": f"「{text}」",
            "full stop": f"{text}.", "Japanese full stop": f"{text}。", "spaces around": f" {text}\u3000"}


@pytest.mark.parametrize("accepted", SYMBOLIC, ids=str)
def test_the_marks_of_an_answer_count(accepted):
    stripped = without_marks(accepted)
    assert stripped != accepted  # (the case is about a mark at an edge)
    assert not answer_matches(stripped, accepted), (stripped, accepted)
    assert not answer_matches(accepted, stripped), (accepted, stripped)
    assert answer_key(accepted) != answer_key(stripped)


@pytest.mark.parametrize("accepted", SYMBOLIC, ids=str)
def test_an_answer_with_marks_matches_however_it_is_typed(accepted):
    for name, typed in symbol_variants(accepted).items():
        assert answer_matches(typed, accepted), (name, typed, answer_key(typed), answer_key(accepted))


SYMBOL_NEIGHBOURS = [("C#", "C++"), ("C#", "F#"), ("C#", "C♯"), ("C++", "C+"), ("¥500", "$500"), ("★", "☆"),
                     ("★", "★★"), ("3.14", "314"), ("3.14", "3,14"), ("3.14", "3."),
                     ("３．１４", "３１４"), (".NET", "NET."), ("Ｃ＃", "Ｃ＋＋"),
                     ("＃１", "＃"), ("C#", "#C")]


@pytest.mark.parametrize("one,other", SYMBOL_NEIGHBOURS, ids=str)
def test_answers_that_differ_in_a_mark_are_different(one, other):
    assert not answer_matches(one, other) and not answer_matches(other, one)


# A mark that ends a sentence (. 。 ! ?) may be typed after any answer ("Paris!" is "Paris"); when the
# accepted answer itself ends with one ("Wow!", "Yahoo!", "モーニング娘。"), it is part of the answer.
ENDED = ["Wow!", "Yahoo!", "Jeopardy!", "Why?", "モーニング娘。", "ワオ！", "なぜ？", "Mr.", "Ｊｅｏｐａｒｄｙ！"]
_END_TWINS = {"!": "！", "！": "!", "?": "？", "？": "?", "。": "．", ".": "。"}


@pytest.mark.parametrize("accepted", ENDED, ids=str)
def test_an_ending_the_accepted_answer_has_must_be_typed(accepted):
    bare, mark = accepted[:-1], accepted[-1]
    assert not answer_matches(bare, accepted), bare
    other = "?" if mark in "!！" else "!"
    assert not answer_matches(bare + other, accepted), bare + other
    for typed in (accepted, bare + _END_TWINS[mark], accepted + mark, accepted.upper(), f"「{accepted}」",
                  full_width(unicodedata.normalize("NFKC", accepted))):
        assert answer_matches(typed, accepted), (typed, answer_key(typed), answer_key(accepted))


@pytest.mark.parametrize("accepted", ENDED, ids=str)
def test_an_ending_typed_after_an_answer_without_one_is_ignored(accepted):
    bare = accepted[:-1]
    assert answer_matches(accepted, bare)


BRACKETS_THAT_BELONG = [("(500) Days of Summer", "500) Days of Summer"), ('"a" and "b"', 'a" and "b'),
                        ("「a」と「b」", "a」と「b"), ("(500) Days of Summer", "500 Days of Summer")]


@pytest.mark.parametrize("one,other", BRACKETS_THAT_BELONG, ids=str)
def test_only_quotes_and_brackets_around_the_whole_answer_are_ignored(one, other):
    assert not answer_matches(one, other) and not answer_matches(other, one)
    assert answer_matches(f"「{one}」", one) and answer_matches(f"({one})", one)
