"""/content post: moderators reveal an exclusive content item now (never below its tier).

Timed reveals need no command: bot/services/content.py arms each item's `at:` and serves the
`content.reveal` schedule action.
"""
from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator
from bot.tree import respond


@app_commands.guild_only()
class ContentCog(commands.GroupCog, group_name="content", group_description="Exclusive content for members"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        super().__init__()

    async def content_autocomplete(self, interaction: discord.Interaction, current: str
                                   ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"{c.id} ({c.tier})"[:100], value=c.id) for c in self.app.content.items
                if current.lower() in c.id][:25]

    async def channel_autocomplete(self, interaction: discord.Interaction, current: str
                                   ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=key, value=key) for key in self.app.config.community.channels
                if current.lower() in key][:25]

    @app_commands.command(name="post", description="Moderators: reveal a content item now, in its channel")
    @app_commands.describe(id="the content id in content.yaml",
                           channel="another channel key (refused if people below the content's tier can read it)")
    @app_commands.autocomplete(id=content_autocomplete, channel=channel_autocomplete)
    @is_moderator()
    async def post(self, interaction: discord.Interaction, id: app_commands.Range[str, 1, 100],
                   channel: Optional[app_commands.Range[str, 1, 100]] = None) -> None:
        result = await self.app.content.post_now(interaction.guild_id, id, by=interaction.user.id, channel=channel)
        if not result.posted:
            await respond(interaction, self.app.t("content.already_posted", id=result.content_id, channel=result.channel,
                                                  when=discord.utils.format_dt(result.posted_at, "f") if result.posted_at else "-"))
            return
        key = "content.posted_with_teaser" if result.teaser_channel else "content.posted"
        await respond(interaction, self.app.t(key, id=result.content_id, channel=result.channel,
                                              teaser=result.teaser_channel or ""))


async def setup(bot) -> None:
    await bot.add_cog(ContentCog(bot))
