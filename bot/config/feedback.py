"""`feedback:` section of community.yaml: categories, risk keywords, limits."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from .base import Key, Model


class RateLimit(Model):
    count: int = Field(default=5, ge=1)
    per_seconds: int = Field(default=60, ge=1)


def _clean_words(value: tuple[str, ...]) -> tuple[str, ...]:
    words = tuple(w.strip() for w in value)
    if any(not w for w in words):
        raise ValueError("an empty word cannot be matched (remove the blank entry)")
    return words


# a category key is the value of its option in the /feedback send select: Discord takes 1 to 100 characters
CategoryKey = Annotated[Key, Field(max_length=100)]


class FeedbackSettings(Model):
    channel: Key = "feedback"
    categories: tuple[CategoryKey, ...] = Field(default=("product", "event", "community", "bug"), min_length=1, max_length=25)
    # matched case-insensitively on word boundaries; words with Japanese (non-ASCII) text match as substrings
    flag_keywords: tuple[str, ...] = ("refund", "scam", "broken", "lawsuit", "harass")
    # strong negative language: the built-in en/ja lexicon (bot/services/feedback.py) plus these words
    negative_words: tuple[str, ...] = ()
    builtin_negative_words: bool = True
    max_length: int = Field(default=2000, ge=10, le=4000)
    title_max_length: int = Field(default=100, ge=5, le=100)
    rate_limit: RateLimit = RateLimit()
    reactions_on: tuple[Key, ...] = ("announcements",)
    digest_top: int = Field(default=3, ge=1, le=10)  # top-voted and oldest-untriaged items in the digest

    _words = field_validator("flag_keywords", "negative_words")(_clean_words)

    @field_validator("categories")
    @classmethod
    def _unique_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen = [c for i, c in enumerate(value) if c in value[:i]]
        if seen:
            raise ValueError(f"category {seen[0]!r} is listed twice")
        return value
