"""`ama:` section of community.yaml: guest sessions (AMA)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from .base import Model
from .base import Duration

MAX_SESSION = timedelta(days=7)


class AmaSettings(Model):
    duration: Duration | None = None
    """How long a session stays open when `/ama open` names no end (e.g. 2h); leave it out to keep
    sessions open until a moderator closes them."""
    min_question_length: int = Field(default=5, ge=1, le=100)
    """The shortest question a member may ask, in characters."""

    @field_validator("duration")
    @classmethod
    def _sensible_duration(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and not (timedelta(minutes=1) <= value <= MAX_SESSION):
            raise ValueError("a session lasts between 1 minute and 7 days")
        return value
