"""`membership:` and `tiers:` sections of community.yaml: how people join and what tiers unlock."""
from __future__ import annotations

from datetime import time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import Key, Model, TimeOfDay


class ChoiceOption(Model):
    """One answer of a choice question. Written as plain text (`- Matcha`) it is its own value."""

    json_schema_shorthand = "The answer's label, which is also its value (at most 100 characters)."

    value: str = Field(min_length=1, max_length=100)  # Discord: an option's value is 1-100 characters
    """What is stored and exported for this answer (at most 100 characters)."""
    label: str = Field(min_length=1, max_length=100)
    """The answer as the applicant sees it (at most 100 characters)."""
    description: str | None = Field(default=None, min_length=1, max_length=100)
    """A line under the answer (at most 100 characters)."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"value": value, "label": value}
        if isinstance(value, dict) and "label" in value and "value" not in value:
            return {**value, "value": value["label"]}
        return value


# Discord's limits for the components behind each kind (see bot/offline/spec.py's document)
CHOICE_OPTIONS = {"single_choice": (2, 10), "multiple_choice": (1, 10)}


class ApplicationQuestion(Model):
    key: Key
    """A stable key for this question's answers."""
    label: str = Field(min_length=1, max_length=45)  # Discord's label limit
    """The question as shown in the application form (at most 45 characters)."""
    kind: Literal["text", "single_choice", "multiple_choice", "accept"] = "text"
    """text: typed; single_choice: one of `options` (radio buttons); multiple_choice: some of `options`
    (checkboxes); accept: one checkbox the applicant must tick (e.g. "I accept the rules")."""
    description: str | None = Field(default=None, min_length=1, max_length=100)
    """A line under the question (at most 100 characters), e.g. where the rules are."""
    style: Literal["short", "paragraph"] = "paragraph"
    """For text: short (one line) or paragraph (several lines)."""
    required: bool = True
    """Whether an applicant must answer it (an accept question is always required)."""
    max_length: int = Field(default=1000, ge=1, le=4000)
    """For text: the longest answer allowed, in characters."""
    options: tuple[ChoiceOption, ...] = ()
    """For single_choice (2 to 10) and multiple_choice (1 to 10): the answers to pick from."""
    min_choices: int | None = Field(default=None, ge=0, le=10)
    """For multiple_choice: the fewest answers to tick (default 1 when required, else 0)."""
    max_choices: int | None = Field(default=None, ge=1, le=10)
    """For multiple_choice: the most answers to tick (default: all of them)."""

    @model_validator(mode="after")
    def _fits_its_kind(self) -> "ApplicationQuestion":
        set_ = self.model_fields_set
        if self.kind in CHOICE_OPTIONS:
            low, high = CHOICE_OPTIONS[self.kind]
            if not low <= len(self.options) <= high:
                raise ValueError(f"a {self.kind} question needs {low} to {high} options (has {len(self.options)})")
            values = [o.value for o in self.options]
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"option values must be unique; repeated: {', '.join(repeated)}")
            for name in ("style", "max_length"):
                if name in set_:
                    raise ValueError(f"`{name}:` is only for text questions")
        elif self.options:
            raise ValueError("`options:` is only for single_choice and multiple_choice questions")
        if self.kind != "multiple_choice" and ({"min_choices", "max_choices"} & set_):
            raise ValueError("`min_choices:` and `max_choices:` are only for multiple_choice questions")
        if self.kind == "multiple_choice":
            low, high = self.choice_range
            if high > len(self.options):
                raise ValueError(f"max_choices ({high}) is more than the {len(self.options)} options")
            if low > high:
                raise ValueError(f"min_choices ({low}) is more than max_choices ({high})")
            if self.required and low < 1:
                raise ValueError("a required question needs min_choices of at least 1 (or `required: false`)")
        if self.kind == "accept":
            if not self.required:
                raise ValueError("an accept question is always required (remove `required: false`)")
            if {"style", "max_length"} & set_:
                raise ValueError("`style:` and `max_length:` are only for text questions")
        return self

    @property
    def choice_range(self) -> tuple[int, int]:
        """(fewest, most) answers a multiple_choice question takes."""
        low = self.min_choices if self.min_choices is not None else (1 if self.required else 0)
        return low, self.max_choices if self.max_choices is not None else len(self.options)

    def option_label(self, value: str) -> str | None:
        return next((o.label for o in self.options if o.value == value), None)


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
    questions: tuple[ApplicationQuestion, ...] = Field(default=(), max_length=5)  # a modal holds 5 components
    """Questions of the application form (at most 5, of any kind)."""
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
