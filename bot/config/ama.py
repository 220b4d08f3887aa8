"""`ama:` section of community.yaml: guest sessions (AMA)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from .base import Duration, Key, Model

MAX_SESSION = timedelta(days=7)
MAX_REMINDER = timedelta(days=7)


class LiveEventSettings(Model):
    """A session is also a Discord scheduled event: members press Interested in Discord's own UI and
    get a reminder DM before it starts; the event shows as live while the session is open."""

    enabled: bool = True
    """Create a Discord scheduled event for every session."""
    remind_before: Duration | None = Field(default_factory=lambda: timedelta(minutes=30))
    """How long before the start interested members get a reminder DM (leave empty: no reminder)."""
    length: Duration = Field(default_factory=lambda: timedelta(hours=1))
    """How long the event lasts on Discord when the session has no end time."""
    location: Key | None = None
    """A channel key where it happens (a voice or stage channel links the event to it); default: the
    session's thread."""

    @field_validator("remind_before")
    @classmethod
    def _sensible_reminder(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and not (timedelta(minutes=1) <= value <= MAX_REMINDER):
            raise ValueError("a reminder goes out between 1 minute and 7 days before the start")
        return value

    @field_validator("length")
    @classmethod
    def _sensible_length(cls, value: timedelta) -> timedelta:
        if not (timedelta(minutes=5) <= value <= MAX_SESSION):
            raise ValueError("an event lasts between 5 minutes and 7 days")
        return value


class AmaSettings(Model):
    duration: Duration | None = None
    """How long a session stays open when `/ama open` names no end (e.g. 2h); leave it out to keep
    sessions open until a moderator closes them."""
    min_question_length: int = Field(default=5, ge=1, le=100)
    """The shortest question a member may ask, in characters."""
    event: LiveEventSettings = LiveEventSettings()
    """The Discord scheduled event of each session: reminder, length, location."""

    @field_validator("duration")
    @classmethod
    def _sensible_duration(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and not (timedelta(minutes=1) <= value <= MAX_SESSION):
            raise ValueError("a session lasts between 1 minute and 7 days")
        return value
