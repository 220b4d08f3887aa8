"""`feedback:` section of community.yaml: categories, risk keywords, limits."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from .base import Key, Model


class RateLimit(Model):
    count: int = Field(default=5, ge=1)
    """How many feedback items a member may send..."""
    per_seconds: int = Field(default=60, ge=1)
    """...within this many seconds."""


def _clean_words(value: tuple[str, ...]) -> tuple[str, ...]:
    words = tuple(w.strip() for w in value)
    if any(not w for w in words):
        raise ValueError("an empty word cannot be matched (remove the blank entry)")
    return words


# a category key is the value of its option in the /feedback send select: Discord takes 1 to 100 characters
CategoryKey = Annotated[Key, Field(max_length=100)]


class FeedbackSettings(Model):
    channel: Key = "feedback"
    """The channel key where feedback is posted for the team."""
    categories: tuple[CategoryKey, ...] = Field(default=("product", "event", "community", "bug"), min_length=1, max_length=25)
    """The categories a member picks from (keys of at most 100 characters, at most 25 of them)."""
    # matched case-insensitively on word boundaries; words with Japanese (non-ASCII) text match as substrings
    flag_keywords: tuple[str, ...] = ("refund", "scam", "broken", "lawsuit", "harass")
    """Words that flag an item for moderators (refund, scam...)."""
    # strong negative language: the built-in en/ja lexicon (bot/services/feedback.py) plus these words
    negative_words: tuple[str, ...] = ()
    """Extra words that count as negative in the sentiment summary."""
    builtin_negative_words: bool = True
    """Also use the built-in list of negative words."""
    max_length: int = Field(default=2000, ge=10, le=4000)
    """The longest feedback text allowed, in characters."""
    title_max_length: int = Field(default=100, ge=5, le=100)
    """The longest feedback title allowed, in characters."""
    rate_limit: RateLimit = RateLimit()
    """How often a member may send feedback."""
    reactions_on: tuple[Key, ...] = ("announcements",)
    """Channel keys whose posts get reaction-feedback counted."""
    digest_top: int = Field(default=3, ge=1, le=10)  # top-voted and oldest-untriaged items in the digest
    """How many top-voted and oldest untriaged items the digest lists."""
    screenshots: bool = True
    """Offer an optional screenshot upload in the feedback form (kept with the item, shown to moderators)."""

    _words = field_validator("flag_keywords", "negative_words")(_clean_words)

    @field_validator("categories")
    @classmethod
    def _unique_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen = [c for i, c in enumerate(value) if c in value[:i]]
        if seen:
            raise ValueError(f"category {seen[0]!r} is listed twice")
        return value
