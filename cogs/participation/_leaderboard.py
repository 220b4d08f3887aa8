"""/leaderboard [week|month|all] and /me."""
from __future__ import annotations

from typing import Callable, Iterable, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.messages import Block, Card
from bot.tree import respond
from bot.ui import layout_view

PODIUM = 3  # the first places get a section each, with the member's picture beside their line
BOARD_ACCENT = 0xF4C542


def leaderboard_card(t: Callable[..., str], period: str, rows: Iterable, avatars: dict[int, str]) -> Card:
    """The leaderboard as a card (issue 20): the title, the podium with each member's avatar beside
    their line, the rest below a divider. `rows` have rank, user_id and points; `avatars` user id -> url.
    The dry run renders this too (bot/dryrun.py), with the widest values."""
    period_name = t(f"participation.period_{period}")
    lines = [(row.user_id, t("participation.leaderboard_line", rank=row.rank, user=f"<@{row.user_id}>",
                             points=row.points)) for row in rows]
    blocks = [Block(f"## {t('participation.leaderboard_title', period=period_name)}")]
    if not lines:
        blocks.append(Block(t("participation.leaderboard_empty", period=period_name)))
    for user_id, line in lines[:PODIUM]:
        blocks.append(Block(line, thumbnail=avatars.get(user_id)))
    if lines[PODIUM:]:
        blocks.append(Block("\n".join(line for _, line in lines[PODIUM:]), separator=True))
    return Card(tuple(blocks), accent=BOARD_ACCENT)


class LeaderboardCog(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app

    @app_commands.command(name="leaderboard", description="Who has the most participation points")
    @app_commands.describe(period="week (last 7 days), month (last 30 days) or all time")
    @app_commands.guild_only()
    async def leaderboard(self, interaction: discord.Interaction,
                          period: Literal["week", "month", "all"] = "week") -> None:
        t = self.app.t
        await interaction.response.defer(thinking=True)  # a reply in time even when the database is busy
        board = await self.app.participation.leaderboard(interaction.guild_id, period)
        members = [interaction.guild.get_member(s.user_id) for s in board.rows[:PODIUM]] if interaction.guild else []
        avatars = {m.id: m.display_avatar.url for m in members if m is not None}
        card = leaderboard_card(t, period, board.rows, avatars)
        await respond(interaction, view=layout_view(card), ephemeral=False)

    @app_commands.command(name="me", description="Your points, streak, rank and tier progress")
    @app_commands.guild_only()
    async def me(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await respond(interaction, embed=self.profile_embed(
            await self.app.participation.profile(interaction.guild_id, interaction.user.id)))

    def profile_embed(self, me) -> discord.Embed:
        t, community = self.app.t, self.app.config.community
        embed = discord.Embed(title=t("participation.me_title"))
        embed.add_field(name=t("participation.me_points_name"), inline=False,
                        value=t("participation.me_points", all=me.points_all, week=me.points_week, month=me.points_month))
        streak_key = "participation.me_streak_today" if me.streak.active_today else "participation.me_streak"
        embed.add_field(name=t("participation.me_streak_name"), value=t(streak_key, current=me.streak.current,
                                                                          best=me.streak.best))
        embed.add_field(name=t("participation.me_rank_name"), value=t("participation.me_rank", rank=me.rank,
                                                                        ranked=me.ranked)
                        if me.rank else t("participation.me_unranked"))
        tier = community.tier(me.tier_key).name if me.tier_key else t("participation.me_tier_none")
        embed.add_field(name=t("participation.me_tier_name"), value=tier)
        lines = []
        for p in me.progress:
            line = (t("participation.me_progress_points", tier=p.name, have=p.have, need=p.need, days=p.window_days)
                    if p.way == "points" else t("participation.me_progress_streak", tier=p.name, have=p.have, need=p.need))
            lines.append(t("participation.me_progress_reached", line=line) if p.reached else line)
        embed.add_field(name=t("participation.me_progress_name"), inline=False,
                        value="\n".join(lines)[:1024] or t("participation.me_no_tiers"))
        return embed
