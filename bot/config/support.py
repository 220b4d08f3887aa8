"""`help:` section of community.yaml: the help forum (support in the open), its topics and timers."""
from __future__ import annotations

from datetime import timedelta
from typing import Iterator

from pydantic import Field, field_validator

from .base import Duration, Key, Model

# Discord: a forum has at most 20 tags, each name 1-20 characters; the help forum's own state tags
# (open, answered, solved, closed) take four of them
FORUM_TAG_MAX = 20
TAG_NAME_MAX = 20
STATE_TAGS = 4


class HelpTopic(Model):
    key: Key
    """The topic's key (the FAQ refers to it)."""
    name: str = Field(min_length=1, max_length=TAG_NAME_MAX)
    """The topic's tag in the help forum (Discord: 1-20 characters)."""


class HelpSettings(Model):
    channel: Key | None = None
    """The channel key of the help forum (a channel with `forum: true`); leave it out for no help desk."""
    escalate_after: Duration = timedelta(hours=4)
    """A post with no answer from the team after this long is escalated to the mod-log (once)."""
    close_after_inactive: Duration = timedelta(days=3)
    """A post with no activity for this long is closed politely, with a DM to the asker (once)."""
    topics: tuple[HelpTopic, ...] = Field(default=(), max_length=FORUM_TAG_MAX - STATE_TAGS)
    """The topics members pick from; each is a tag of the forum."""
    staff_role: Key | None = None
    """The role key whose answers count as the team's (default: the moderator role)."""
    answer_points: int = Field(default=5, ge=0, le=1000)
    """Participation points for a member who answers someone else's question (once per post)."""
    suggestions: int = Field(default=3, ge=0, le=10)
    """How many FAQ entries and solved posts /help search and /help ask suggest."""

    @field_validator("topics")
    @classmethod
    def _unique_topics(cls, value: tuple[HelpTopic, ...]) -> tuple[HelpTopic, ...]:
        for field in ("key", "name"):
            seen = [getattr(t, field) for i, t in enumerate(value) if getattr(t, field) in
                    [getattr(u, field) for u in value[:i]]]
            if seen:
                raise ValueError(f"topic {field} {seen[0]!r} is listed twice")
        return value

    def topic(self, key: str) -> HelpTopic | None:
        return next((t for t in self.topics if t.key == key), None)

    def references(self, community) -> Iterator[tuple[tuple, str]]:
        """Called from CommunityFile.references: the channel must be a forum, the roles known."""
        if self.channel is not None:
            if self.channel not in community.channels:
                yield ("help", "channel"), (f"unknown channel key {self.channel!r} "
                                            f"(known: {', '.join(sorted(community.channels))})")
            elif not community.channels[self.channel].forum:
                yield ("help", "channel"), (f"channel {self.channel!r} must be a forum: add `forum: true` "
                                            "to it under channels:")
        if self.staff_role is not None and self.staff_role not in community.roles:
            yield ("help", "staff_role"), (f"unknown role key {self.staff_role!r} "
                                           f"(known: {', '.join(sorted(community.roles))})")
        if self.escalate_after <= timedelta(0):
            yield ("help", "escalate_after"), "give a duration longer than 0 (like 4h)"
        if self.close_after_inactive <= timedelta(0):
            yield ("help", "close_after_inactive"), "give a duration longer than 0 (like 3d)"
