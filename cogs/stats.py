"""/stats [week|month] for moderators: the figures, with a PNG chart of daily active members and joins.
The figures come from bot/services/stats.py; the chart is rendered off the event loop."""
from __future__ import annotations

import asyncio
import io
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator
from bot.services.stats import with_section
from bot.tree import respond


class StatsCog(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app

    @app_commands.command(name="stats", description="Moderators: community health for the last week or month")
    @app_commands.describe(period="the last 7 days (week) or 30 days (month)")
    @app_commands.guild_only()
    @is_moderator()
    async def stats(self, interaction: discord.Interaction, period: Literal["week", "month"] = "week") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # the chart takes a moment
        service = self.app.stats
        report = await service.report(interaction.guild_id, period)
        chart = asyncio.ensure_future(service.chart(report))  # drawn in its thread while the help desk reads
        try:
            help_text, help_png = await service.support_section(interaction.guild_id, report)  # the help desk
        finally:
            png = await chart
        name = f"stats-{period}-{report.last_day.isoformat()}.png"
        files = [discord.File(io.BytesIO(png), filename=name)]
        if help_png:
            files.append(discord.File(io.BytesIO(help_png), filename=f"help-{period}-{report.last_day.isoformat()}.png"))
        await respond(interaction, with_section(service.render(report), help_text), files=files)


async def setup(bot) -> None:
    await bot.add_cog(StatsCog(bot))
