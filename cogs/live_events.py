"""Who presses Interested on the bot's Discord scheduled events (AMA sessions, schedules with
`event:`): the gateway's GUILD_SCHEDULED_EVENT_USER_ADD/REMOVE, handed to bot/services/live_events.py."""
from __future__ import annotations

import discord
from discord.ext import commands


class LiveEventsListener(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self.app.live_events.discord_ready()

    @commands.Cog.listener()
    async def on_scheduled_event_user_add(self, event: discord.ScheduledEvent, user: discord.User) -> None:
        if not user.bot:
            await self.app.live_events.interest(event.guild_id, event.id, user.id, True)

    @commands.Cog.listener()
    async def on_scheduled_event_user_remove(self, event: discord.ScheduledEvent, user: discord.User) -> None:
        if not user.bot:
            await self.app.live_events.interest(event.guild_id, event.id, user.id, False)


async def setup(bot) -> None:
    await bot.add_cog(LiveEventsListener(bot))
