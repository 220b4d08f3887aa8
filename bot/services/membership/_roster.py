"""Who is a member: the member role on the server, mirrored in the `members` table."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.db import membership as repo
from bot.services.messages import OutMessage, Target

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

MEMBER_ROLE = "member"
VISITOR_ROLE = "visitor"


class Roster:
    def __init__(self, app: "App") -> None:
        self.app = app

    @property
    def community(self):
        return self.app.config.community

    @property
    def tier_role_keys(self) -> list[str]:
        return [t.role for t in self.community.tiers]

    async def role_keys(self, guild_id: int, user_id: int) -> set[str] | None:
        if self.app.guild is None:
            return None
        return await self.app.guild.member_role_keys(guild_id, user_id)

    async def is_member(self, guild_id: int, user_id: int) -> bool:
        """The member role is the truth (people who were members before the bot count too); without a
        guild connection the table answers."""
        keys = await self.role_keys(guild_id, user_id)
        if keys is not None:
            return MEMBER_ROLE in keys
        row = await repo.get_member(self.app.db, guild_id, user_id)
        return row is not None and row["status"] == "member"

    async def give_member_role(self, guild_id: int, user_id: int, reason: str) -> bool:
        guild = self.app.guild
        if guild is None:
            return False
        ok = await guild.add_role(guild_id, user_id, MEMBER_ROLE, reason=reason)
        if ok:
            await guild.remove_role(guild_id, user_id, VISITOR_ROLE, reason=reason)
        return ok

    async def take_member_roles(self, guild_id: int, user_id: int, reason: str) -> None:
        """Back to visitor: the member role and every tier role go, the visitor role comes back."""
        guild = self.app.guild
        if guild is None:
            return
        held = await guild.member_role_keys(guild_id, user_id) or set()
        for key in [MEMBER_ROLE, *self.tier_role_keys]:
            if key in held:
                await guild.remove_role(guild_id, user_id, key, reason=reason)
        if VISITOR_ROLE in self.community.roles:
            await guild.add_role(guild_id, user_id, VISITOR_ROLE, reason=reason)

    async def welcome(self, guild_id: int, user_id: int, event_id: int) -> None:
        """The welcome DM, in the persona's voice; once per join event."""
        text = self.app.t("membership.welcome_dm", user=f"<@{user_id}>", rules=self.community.membership.rules)
        await self.dm(guild_id, user_id, text, dedupe_key=f"membership:welcome:{guild_id}:{event_id}")

    async def dm(self, guild_id: int, user_id: int, text: str, *, dedupe_key: str) -> None:
        await self.app.outbox.post(guild_id, Target.dm(user_id), OutMessage(content=text[:2000], as_persona=True),
                                   dedupe_key=dedupe_key)
