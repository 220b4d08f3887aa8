"""content.yaml: exclusive content revealed to a tier at a set time, with an optional public teaser.

Who may see what, as one number (`audience rank`): visitors -1, plain members 0, then 1, 2, ... for the
tiers of community.yaml (lowest first). A channel's rank is the lowest audience that can read it
(public/readonly: visitors; exclusive: its tier; mod: moderators only, above every tier). Content may
only go to a channel whose rank is at least the content's rank; this is checked here at load time
(file:line error) and again by the service just before anything is posted.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from pydantic import Field, HttpUrl, field_validator

from .base import Key, LocalDateTime, Model

VISITOR_RANK = -1
MEMBER = "member"
MODERATORS_RANK = 1_000  # a mod channel is above every tier


def to_utc(when: datetime, tz: ZoneInfo | str) -> datetime:
    """A config time (naive = community time zone) as an aware UTC datetime."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(tz) if isinstance(tz, str) else tz)
    return when.astimezone(timezone.utc)


def audience_rank(community, audience: str | None) -> int:
    """'public'/None -> visitors, 'member' -> 0, a tier key -> its rank."""
    if audience in (None, "public", "visitor"):
        return VISITOR_RANK
    if audience == MEMBER:
        return 0
    return community.tier_rank(audience)


def channel_rank(community, channel_key: str) -> int:
    """The lowest audience rank that can read the channel (KeyError for an unknown channel)."""
    spec = community.channels[channel_key]
    if spec.kind == "exclusive":
        return community.tier_rank(spec.tier)
    if spec.kind == "mod":
        return MODERATORS_RANK
    return VISITOR_RANK


def audience_name(community, rank: int) -> str:
    if rank <= VISITOR_RANK:
        return "everyone"
    if rank == 0:
        return "members"
    if rank >= MODERATORS_RANK:
        return "moderators"
    return community.tiers[rank - 1].name


class Teaser(Model):
    """A public line about the content that tells non-members how to get access (no content in it)."""

    channel: Key
    """The channel key where the teaser is posted for everyone else."""
    text: str = Field(min_length=1, max_length=2000)
    """The teaser: how to get access (never the content itself)."""


class ContentItem(Model):
    id: Key
    """A unique key (content.reveal and /content post use it)."""
    tier: Key = Field(description="lowest audience that may see it: `member` or a tier key")
    channel: Key = Field(description="where it is revealed; must not be readable below `tier`")
    at: LocalDateTime | None = Field(default=None, description="reveal time in the community time zone")
    title: str = Field(default="", max_length=256)
    """The title of the reveal."""
    text: str = Field(default="", max_length=4000)
    """The exclusive content."""
    image: HttpUrl | None = None
    """A picture revealed with it."""
    link: HttpUrl | None = None
    """A link revealed with it."""
    teaser: Teaser | None = None
    """An optional line for everyone else, saying how to get access."""

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    def has_body(self) -> bool:
        return bool(self.title or self.text or self.image or self.link)


class ContentFile(Model):
    content: tuple[ContentItem, ...] = ()
    """Exclusive content revealed in a tier's channel at a set time."""

    def get(self, content_id: str) -> ContentItem | None:
        return next((c for c in self.content if c.id == content_id), None)

    def references(self, config) -> Iterator[tuple[tuple, str]]:
        community = config.community
        tier_keys = [t.key for t in community.tiers]
        seen: set[str] = set()
        for i, item in enumerate(self.content):
            if item.id in seen:
                yield ("content", i, "id"), f"content id {item.id!r} is used twice"
            seen.add(item.id)
            if not item.has_body():
                yield ("content", i), "give the content a title, text, image or link"
            if item.tier != MEMBER and item.tier not in tier_keys:
                yield ("content", i, "tier"), (f"unknown tier key {item.tier!r} (known: member, "
                                               f"{', '.join(tier_keys) or 'no tiers'})")
                continue
            if item.channel not in community.channels:
                yield ("content", i, "channel"), (f"unknown channel key {item.channel!r} "
                                                  f"(known: {', '.join(sorted(community.channels))})")
            else:
                problem = placement_problem(community, item.tier, item.channel)
                if problem:
                    yield ("content", i, "channel"), problem
            if item.teaser and item.teaser.channel not in community.channels:
                yield ("content", i, "teaser", "channel"), (f"unknown channel key {item.teaser.channel!r} "
                                                            f"(known: {', '.join(sorted(community.channels))})")


def placement_problem(community, tier: str, channel_key: str) -> str | None:
    """Why content of `tier` may not go to `channel_key` (None when it may)."""
    if channel_key not in community.channels:
        return f"unknown channel key {channel_key!r}"
    need = audience_rank(community, tier)
    have = channel_rank(community, channel_key)
    if have < need:
        return (f"channel {channel_key!r} is readable by {audience_name(community, have)}, below this content's "
                f"tier {tier!r}: use an exclusive channel of tier {tier!r} or higher")
    return None
