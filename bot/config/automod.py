"""`moderation.automod:` in community.yaml: the risk words as a Discord AutoMod keyword rule.

The risk words are the ones that already flag feedback (`feedback.flag_keywords`) plus any listed here;
`/setup` (and every config reload) creates or updates one keyword rule with them, which alerts the
mod-log channel and, with `block: true`, also stops the message. Discord's limits (its API spec,
KeywordTriggerMetadata): at most 1000 keywords of 1 to 60 characters, 100 allow-list entries of at
most 60, 20 exempt roles, 50 exempt channels, a rule name of at most 100 characters.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from pydantic import Field, field_validator

from .base import Key, Model

MAX_KEYWORDS = 1000
MAX_KEYWORD_LENGTH = 60
MAX_ALLOW = 100


def keyword_filter(words: Iterable[str]) -> list[str]:
    """Risk words in AutoMod's keyword grammar, matching as feedback flags do (bot/services/feedback.py):
    an ASCII word matches whole words (`scam`, Discord's default), a word with Japanese (non-ASCII)
    text anywhere (`*詐欺*`: Japanese has no spaces between words). A word already written with `*`
    is taken as the community wrote it. Case is Discord's business (it ignores it)."""
    out: list[str] = []
    for word in words:
        word = word.strip()
        if not word:
            continue
        keyword = word if "*" in word or word.isascii() else f"*{word}*"
        if keyword.casefold() not in {k.casefold() for k in out}:
            out.append(keyword)
    return out


class AutoModSettings(Model):
    enabled: bool = False
    """Create and keep in sync a Discord AutoMod rule for the risk words (needs Manage Server)."""
    rule_name: str = Field(default="Kizuna risk words", min_length=1, max_length=100)
    """The rule's name in Server Settings > AutoMod (the bot finds its rule by this name)."""
    words: tuple[str, ...] = ()
    """Risk words for AutoMod besides feedback.flag_keywords (which are always included)."""
    allow: tuple[str, ...] = Field(default=(), max_length=MAX_ALLOW)
    """Words AutoMod should never flag, even when a keyword matches them (at most 100)."""
    block: bool = False
    """Also block the message (the member sees a short explanation); otherwise only alert moderators."""
    exempt_roles: tuple[Key, ...] = Field(default=("moderator",), max_length=20)
    """Role keys whose members the rule ignores (at most 20)."""
    exempt_channels: tuple[Key, ...] = Field(default=(), max_length=50)
    """Channel keys the rule ignores (at most 50)."""

    @field_validator("words", "allow")
    @classmethod
    def _no_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        words = tuple(w.strip() for w in value)
        if any(not w for w in words):
            raise ValueError("an empty word cannot be matched (remove the blank entry)")
        long = [w for w in words if len(w) > MAX_KEYWORD_LENGTH]
        if long:
            raise ValueError(f"{long[0]!r} is {len(long[0])} characters; Discord takes at most {MAX_KEYWORD_LENGTH}")
        return words

    def keywords(self, flag_keywords: Iterable[str]) -> list[str]:
        return keyword_filter([*flag_keywords, *self.words])

    def problems(self, community) -> Iterator[tuple[tuple, str]]:
        """Cross-field problems, located under `moderation.automod` (or the word's own list)."""
        if not self.enabled:
            return
        here = ("moderation", "automod")
        for loc, words in ((("feedback", "flag_keywords"), community.feedback.flag_keywords),
                           (here + ("words",), self.words)):
            for i, word in enumerate(words):
                keyword = keyword_filter([word])
                if keyword and len(keyword[0]) > MAX_KEYWORD_LENGTH:
                    yield loc + (i,), (f"as an AutoMod keyword {keyword[0]!r} is {len(keyword[0])} characters; "
                                       f"Discord takes at most {MAX_KEYWORD_LENGTH}")
        count = len(self.keywords(community.feedback.flag_keywords))
        if count > MAX_KEYWORDS:
            yield here + ("words",), f"{count} AutoMod keywords in all; Discord takes at most {MAX_KEYWORDS}"
        if count == 0:
            yield here + ("enabled",), "no risk words to match: list some in feedback.flag_keywords or here"
        for i, key in enumerate(self.exempt_roles):
            if key not in community.roles:
                yield here + ("exempt_roles", i), f"unknown role key {key!r}"
        for i, key in enumerate(self.exempt_channels):
            if key not in community.channels:
                yield here + ("exempt_channels", i), f"unknown channel key {key!r}"
