"""`membership:` and `tiers:` sections of community.yaml: how people join and what tiers unlock."""
from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, field_validator

from .base import Key, Model, TimeOfDay


class ApplicationQuestion(Model):
    key: Key
    label: str = Field(min_length=1, max_length=45)  # Discord's text-input label limit
    style: Literal["short", "paragraph"] = "paragraph"
    required: bool = True
    max_length: int = Field(default=1000, ge=1, le=4000)


class InviteSettings(Model):
    members_can_create: bool = False
    member_quota: int = Field(default=3, ge=0)
    default_max_uses: int = Field(default=1, ge=1)
    default_expiry_days: int = Field(default=7, ge=1)
    max_failed_attempts: int = Field(default=5, ge=1)
    attempt_window_minutes: int = Field(default=15, ge=1)  # wrong codes counted over this window
    lockout_minutes: int = Field(default=30, ge=1)
    # wrong codes from everyone together within attempt_window_minutes: past it, codes are paused for
    # everyone until the window has room again (many accounts guessing share one budget)
    community_max_failed_attempts: int = Field(default=20, ge=1)


class MembershipSettings(Model):
    mode: Literal["open", "approval", "invite"] = "open"
    rules: str = Field(default="Be kind. No spam. Stay on topic.", min_length=1, max_length=1800)
    questions: tuple[ApplicationQuestion, ...] = Field(default=(), max_length=5)  # a modal holds 5 inputs
    reapply_cooldown_days: int = Field(default=7, ge=0)
    application_expiry_days: int = Field(default=14, ge=1)
    invites: InviteSettings = InviteSettings()
    # when the daily review runs (community time zone): tier rules, expired applications
    daily_review_at: TimeOfDay = time(4, 0)

    @field_validator("questions")
    @classmethod
    def _unique_question_keys(cls, questions: tuple[ApplicationQuestion, ...]) -> tuple[ApplicationQuestion, ...]:
        keys = [q.key for q in questions]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"question keys must be unique; repeated: {', '.join(dupes)}")
        return questions


class PointsRule(Model):
    min: int = Field(ge=1)
    window_days: int = Field(default=30, ge=1)


class StreakRule(Model):
    min: int = Field(ge=1)


class TierGrant(Model):
    """Ways a tier is earned; any one of them is enough. `manual` is always allowed for moderators."""

    holder_role: Key | None = None
    points: PointsRule | None = None
    streak: StreakRule | None = None


class Tier(Model):
    key: Key
    name: str = Field(min_length=1, max_length=100)
    role: Key
    description: str = ""
    grant: TierGrant = TierGrant()
