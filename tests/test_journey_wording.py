"""Journey: counts read like English (issue 15, "Wording"): "1 day", "1 more wrong try", "1 upvote",
"1 winner" — through one catalogue grammar, `{count:plural:one:other}`, that `check` validates in brand
overrides. The generated suite renders every English message with every count at 1 and at 2."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from bot.services.catalogue import (SHARED_PLACEHOLDERS, Catalogue, builtin, consistency_problems,
                                    override_problems, placeholders)
from tests.helpers import config_with

USERS = {"mod": ["moderator", "member"], "alice": ["member"], "bob": ["member"], "vera": ["visitor"]}
PERSONA = SimpleNamespace(name="P", greeting="G", sign_off="S")

# "1 <plural noun>" after rendering with every parameter 1 (verbs and ordinals that end in s are fine)
ONE_PLURAL = re.compile(r"(?<![\d.#/:<-])\b1 (?:more |new |active |wrong )*(?!is\b|has\b|was\b|this\b|gives\b)"
                        r"([a-z]+s)\b")
# where the number is never a count of 1: limits on text length and the like
NOT_COUNTS = {"characters"}


def english_keys() -> list[str]:
    return sorted(builtin("en"))


@pytest.mark.parametrize("key", english_keys())
def test_no_english_message_says_one_of_a_plural(key):
    template = builtin("en")[key]
    assert "(s)" not in template, f"{key}: write {{count:plural:one:other}} instead of (s)"
    c = Catalogue("en", community_name="C", persona=PERSONA)
    params = {name: 1 for name in placeholders(template) - set(SHARED_PLACEHOLDERS)}
    text = c.t(key, **params)
    bad = [m.group(0) for m in ONE_PLURAL.finditer(text) if m.group(1) not in NOT_COUNTS]
    assert bad == [], f"{key}: {text!r}"
    # and the plural still reads as a plural
    many = c.t(key, **{name: 2 for name in params})
    assert not re.search(r"(?<![\d.#/:<-])\b2 (?:day|winner|upvote|member|point|try|entrant)\b", many), many


def test_the_plural_grammar_picks_the_form_and_check_validates_it():
    en = Catalogue("en", community_name="C", persona=PERSONA)
    ja = Catalogue("ja", community_name="C", persona=PERSONA)
    template = "{n:plural:winner:winners}"
    for lang in (en, ja):
        lang.templates["x.y"] = template
    assert [en.t("x.y", n=n) for n in (0, 1, 2)] == ["0 winners", "1 winner", "2 winners"]
    assert ja.t("x.y", n=1) == "1 winners"  # Japanese has one form: templates there write {n}人
    assert list(override_problems({"drops.drawn": "{count:plural:winner:winners}! {winners} {seed} {item}"})) == []
    [(key, problem)] = override_problems({"drops.drawn": "{count:plural:winners}! {item}"})
    assert key == "drops.drawn" and "plural needs two forms, one and other" in problem
    assert not [p for p in consistency_problems() if "plural" in p]


async def test_a_member_reads_singular_counts_along_the_way(harness, tmp_path):
    config = config_with(tmp_path, {
        "community.yaml": {"membership": {"mode": "invite", "invites": {"max_failed_attempts": 3}}},
        "drops.yaml": "drops:\n  - {id: lottery, item: Tea set, stock: 2, mode: raffle}\n"})
    g = await harness(config=config, users=USERS)
    # two wrong invite codes: "2 more wrong tries", then "1 more wrong try"
    first = await g.slash("/join", user="vera", code="AAAA-BBBB-CCCC")
    assert "1 more wrong tries" not in first.content
    second = await g.slash("/join", user="vera", code="DDDD-EEEE-FFFF")
    assert "1 more wrong try and" in second.content
    # a raffle one member entered: one winner, one entrant
    await g.slash("/drop open", user="mod", drop="lottery")
    await g.click("Enter", on=g.channel("announcements").messages[-1], user="alice")
    r = await g.slash("/drop close", user="mod", drop="lottery", seed="s")
    assert "drew 1 winner from 1 entrant with seed" in r.content
    assert "1 winner!" in g.channel("announcements").messages[-1].content
    # one day of streak
    await g.advance(days=1)  # today's prompt
    await g.say(g.channel("daily-prompt").messages[-1].thread, "Sencha!", user="alice")
    me = await g.slash("/me", user="alice")
    streak = next(f["value"] for f in me.embeds[0]["fields"] if "1 day" in f["value"] or "days" in f["value"])
    assert streak.startswith("1 day (best 1)")
