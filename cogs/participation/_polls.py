"""/poll post | end (moderators), and the poll vote listener. The rules live in
bot/services/participation/polls.py; members vote in Discord's own poll UI."""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator
from bot.errors import UserError
from bot.tree import respond


@app_commands.guild_only()
class PollCog(commands.GroupCog, group_name="poll", group_description="Moderators: Discord polls"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        super().__init__()

    def _channel_key(self, guild: discord.Guild, channel: discord.abc.GuildChannel | None) -> str:
        if channel is None:
            return self.app.config.participation.prompts.channel
        for key in self.app.config.community.channels:
            resolved = self.bot.resolve_channel(guild, key)
            if resolved is not None and resolved.id == channel.id:
                return key
        raise UserError("ama.channel_not_configured", channel=channel.mention)

    @app_commands.command(name="post", description="Moderators: post a poll members vote in")
    @app_commands.describe(question="what members vote on", answers="2 to 10 answers separated by |",
                           hours="how long it stays open (1-768, default 24)",
                           multiselect="members may choose more than one answer",
                           channel="where to post it (default: the daily prompt channel)")
    @is_moderator()
    async def post(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 300],
                   answers: app_commands.Range[str, 1, 1000], hours: app_commands.Range[int, 1, 768] = 24,
                   multiselect: bool = False, channel: Optional[discord.TextChannel] = None) -> None:
        choices = [a.strip() for a in answers.split("|")]
        polls = self.app.participation.polls
        poll = await polls.post(interaction.guild_id, source=f"command:{interaction.id}", question=question,
                                answers=choices, duration=timedelta(hours=hours), multiselect=multiselect,
                                channel_key=self._channel_key(interaction.guild, channel),
                                created_by=interaction.user.id)
        await self.app.audit.record(interaction.guild_id, interaction.user.id, "poll.post", f"poll #{poll.id}",
                                    poll.question[:200])
        await respond(interaction, self.app.t("participation.poll_posted", id=poll.id, channel=poll.channel_key,
                                              when=f"<t:{int(poll.ends_at.timestamp())}:R>"))

    @app_commands.command(name="end", description="Moderators: end a poll now and post its results")
    @app_commands.describe(id="the poll number (default: the latest open poll)")
    @is_moderator()
    async def end(self, interaction: discord.Interaction, id: Optional[app_commands.Range[int, 1]] = None) -> None:
        results = await self.app.participation.polls.end(interaction.guild_id, interaction.user.id, id)
        await respond(interaction, self.app.t("participation.poll_ended", id=results.poll.id, voters=results.voters))

    # --- votes: raw events, so a poll posted before a restart still counts ----------------------------
    @commands.Cog.listener()
    async def on_raw_poll_vote_add(self, payload: discord.RawPollVoteActionEvent) -> None:
        await self._vote(payload, add=True)

    @commands.Cog.listener()
    async def on_raw_poll_vote_remove(self, payload: discord.RawPollVoteActionEvent) -> None:
        await self._vote(payload, add=False)

    async def _vote(self, payload: discord.RawPollVoteActionEvent, *, add: bool) -> None:
        if payload.guild_id is None or payload.user_id == self.bot.user.id:
            return
        await self.app.participation.polls.vote(payload.guild_id, payload.user_id, payload.message_id,
                                                payload.answer_id, add=add)
