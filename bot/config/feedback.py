"""`feedback:` section of community.yaml: categories, risk keywords, limits."""
from __future__ import annotations

from pydantic import Field

from .base import Key, Model


class RateLimit(Model):
    count: int = Field(default=5, ge=1)
    per_seconds: int = Field(default=60, ge=1)


class FeedbackSettings(Model):
    channel: Key = "feedback"
    categories: tuple[Key, ...] = Field(default=("product", "event", "community", "bug"), min_length=1, max_length=25)
    flag_keywords: tuple[str, ...] = ("refund", "scam", "broken", "lawsuit", "harass")
    max_length: int = Field(default=2000, ge=10, le=4000)
    rate_limit: RateLimit = RateLimit()
    reactions_on: tuple[Key, ...] = ("announcements",)
