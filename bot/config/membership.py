"""`membership:` and `tiers:` sections of community.yaml: how people join and what tiers unlock."""
from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, field_validator

from .base import Key, Model, TimeOfDay


class ApplicationQuestion(Model):
    key: Key
    """A stable key for this question's answers."""
    label: str = Field(min_length=1, max_length=45)  # Discord's text-input label limit
    """The question as shown in the application form (at most 45 characters)."""
    style: Literal["short", "paragraph"] = "paragraph"
    """short: one line; paragraph: several lines."""
    required: bool = True
    """Whether an applicant must answer it."""
    max_length: int = Field(default=1000, ge=1, le=4000)
    """The longest answer allowed, in characters."""


class InviteSettings(Model):
    members_can_create: bool = False
    """Whether members (not only moderators) may create invite codes."""
    member_quota: int = Field(default=3, ge=0)
    """How many open invite codes a member may hold."""
    default_max_uses: int = Field(default=1, ge=1)
    """How many people one invite code admits by default."""
    default_expiry_days: int = Field(default=7, ge=1)
    """Days until a new invite code expires by default."""
    max_failed_attempts: int = Field(default=5, ge=1)
    """Wrong codes allowed within the window before a lockout."""
    attempt_window_minutes: int = Field(default=15, ge=1)  # wrong codes counted over this window
    """The window over which wrong codes are counted."""
    lockout_minutes: int = Field(default=30, ge=1)
    """How long someone who entered too many wrong codes must wait."""
    community_max_failed_attempts: int = Field(default=20, ge=1)
    """Wrong codes from everyone together within the window: past it, codes are paused for everyone
    until the window has room again (many accounts guessing share one budget)."""


class MembershipSettings(Model):
    mode: Literal["open", "approval", "invite"] = "open"
    """open: anyone joins; approval: moderators approve an application; invite: a code is needed."""
    rules: str = Field(default="Be kind. No spam. Stay on topic.", min_length=1, max_length=1800)
    """The community rules, shown to everyone who joins."""
    questions: tuple[ApplicationQuestion, ...] = Field(default=(), max_length=5)  # a modal holds 5 inputs
    """Questions of the application form (at most 5)."""
    reapply_cooldown_days: int = Field(default=7, ge=0)
    """Days a declined applicant waits before applying again."""
    application_expiry_days: int = Field(default=14, ge=1)
    """Days after which an unanswered application expires."""
    invites: InviteSettings = InviteSettings()
    """Invite-code settings (for mode: invite)."""
    # when the daily review runs (community time zone): tier rules, expired applications
    daily_review_at: TimeOfDay = time(4, 0)
    """When the daily membership review runs (HH:MM, community time)."""

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
    """Points needed."""
    window_days: int = Field(default=30, ge=1)
    """Points are counted over this many recent days."""


class StreakRule(Model):
    min: int = Field(ge=1)
    """Days of streak needed."""


class TierGrant(Model):
    """Ways a tier is earned; any one of them is enough. `manual` is always allowed for moderators."""

    holder_role: Key | None = None
    """Members holding this role key get the tier (e.g. a Discord booster role)."""
    points: PointsRule | None = None
    """The tier is earned with this many points in a window."""
    streak: StreakRule | None = None
    """The tier is earned with a daily streak this long."""


class Tier(Model):
    key: Key
    """The tier's key (content and channels refer to it)."""
    name: str = Field(min_length=1, max_length=100)
    """The tier's name as members see it."""
    role: Key
    """The role key (in roles:) members of this tier get."""
    description: str = ""
    """What the tier means, for members."""
    grant: TierGrant = TierGrant()
    """How the tier is earned (any one way is enough)."""
