"""The narrow doors from the rules to Discord. The bot implements them with discord.py; the offline
harness uses the same implementation against its fake Discord; service tests may use fakes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class MemberStanding:
    """Someone's place on the server right now, as the bot's own view of it (the gateway) has it."""
    present: bool  # on the server (False: left, kicked or banned)
    role_keys: frozenset[str] = frozenset()  # the configured roles they hold
    manages_server: bool = False  # Manage Server, Administrator or the owner


class GuildPort(Protocol):
    async def add_role(self, guild_id: int, user_id: int, role_key: str, reason: str = "") -> bool:
        """Give a configured role; False if the member is gone or the bot may not."""

    async def remove_role(self, guild_id: int, user_id: int, role_key: str, reason: str = "") -> bool: ...

    async def member_role_keys(self, guild_id: int, user_id: int) -> set[str] | None:
        """Configured role keys the member holds, or None if not in the guild."""

    async def members_with_role(self, guild_id: int, role_key: str) -> list[int]: ...

    async def member_standing(self, guild_id: int, user_id: int) -> MemberStanding | None:
        """Where the person stands on the server now (the dashboard asks at every request), from the
        gateway's member cache; None when the server cannot be read (the bot is not connected)."""

    async def member_count(self, guild_id: int, role_key: str | None = None) -> int | None:
        """How many on the server hold the role (everyone, without a key) right now, from the guild's
        roster; None when the guild is not reachable."""

    async def display_names(self, guild_id: int, user_ids: list[int]) -> dict[int, str]:
        """The server display names of those still on the server (the others are left out)."""

    async def channel_names(self, guild_id: int, channel_ids: list[int]) -> dict[int, str]:
        """The names of those channels that still exist (the dashboard's busiest channels)."""


class ForumPort(Protocol):
    """Forum posts after they were opened (posts are opened through the outbox): tags by name."""

    async def post_tags(self, guild_id: int, post_id: int) -> list[str] | None:
        """The names of the tags applied to a post, or None if the post is gone."""

    async def update_post(self, guild_id: int, post_id: int, *, tags: tuple[str, ...] | None = None,
                          archived: bool | None = None, locked: bool | None = None) -> bool:
        """Set a post's tags (by name; names the forum lacks are skipped) and flags; False if not possible."""


# --- live events and polls (Discord's native surfaces) -------------------------------------------------
class ScheduledEventPort(Protocol):
    """Discord guild scheduled events. Each method returns None/False when Discord refused (logged)."""

    async def create_event(self, guild_id: int, *, name: str, description: str, start, end,
                           location_key: str | None, location_text: str | None) -> int | None:
        """Create the event: on the channel of `location_key` when it is a voice or stage channel, else
        somewhere else (external) at `location_text` (or that channel's link). Its Discord id."""

    async def edit_event(self, guild_id: int, event_id: int, *, status: str | None = None,
                         location_text: str | None = None) -> bool:
        """Move it to `status` (active | completed | canceled) and/or change where it happens."""

    async def interested_users(self, guild_id: int, event_id: int) -> list[int] | None:
        """Everyone who pressed Interested, as Discord lists them (None: could not read)."""


class PollPort(Protocol):
    async def end_poll(self, guild_id: int, channel_id: int, message_id: int) -> bool:
        """End a poll the bot posted now (Discord finalises its results)."""

    async def voters(self, guild_id: int, channel_id: int, message_id: int) -> dict[int, list[int]] | None:
        """Who voted for what ({answer id: user ids}), as Discord counted it (None: could not read)."""
