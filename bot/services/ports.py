"""The narrow doors from the rules to Discord. The bot implements them with discord.py; the offline
harness uses the same implementation against its fake Discord; service tests may use fakes."""
from __future__ import annotations

from typing import Protocol


class GuildPort(Protocol):
    async def add_role(self, guild_id: int, user_id: int, role_key: str, reason: str = "") -> bool:
        """Give a configured role; False if the member is gone or the bot may not."""

    async def remove_role(self, guild_id: int, user_id: int, role_key: str, reason: str = "") -> bool: ...

    async def member_role_keys(self, guild_id: int, user_id: int) -> set[str] | None:
        """Configured role keys the member holds, or None if not in the guild."""

    async def members_with_role(self, guild_id: int, role_key: str) -> list[int]: ...

    async def member_count(self, guild_id: int, role_key: str | None = None) -> int | None:
        """How many on the server hold the role (everyone, without a key) right now, from the guild's
        roster; None when the guild is not reachable."""

    async def display_names(self, guild_id: int, user_ids: list[int]) -> dict[int, str]:
        """The server display names of those still on the server (the others are left out)."""

    async def channel_names(self, guild_id: int, channel_ids: list[int]) -> dict[int, str]:
        """The names of those channels that still exist (the dashboard's busiest channels)."""
