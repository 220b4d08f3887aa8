"""/feedback send | mine | show | export, the "Send as feedback" message menu, and 👍/👎 on announcements."""
from __future__ import annotations

import io
import logging
from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator
from bot.tree import respond

from ._views import DeclineModal, FeedbackModal, StatusButton, UpvoteButton  # noqa: F401 (DeclineModal: re-export)

log = logging.getLogger(__name__)


@app_commands.guild_only()
class FeedbackCog(commands.GroupCog, group_name="feedback", group_description="Tell the team what you think"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        self.menu = app_commands.ContextMenu(name=self.app.t("feedback.menu_name")[:32], callback=self.send_as_feedback)
        self.menu.guild_only = True
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(StatusButton, UpvoteButton)
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        self.bot.remove_dynamic_items(StatusButton, UpvoteButton)

    # --- members ------------------------------------------------------------------------------------
    @app_commands.command(name="send", description="Send feedback to the team (you can stay anonymous)")
    async def send(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal(self.app))

    async def send_as_feedback(self, interaction: discord.Interaction, message: discord.Message) -> None:
        # the bot has no message-content intent, but the interaction carries the resolved message
        t = self.app.t
        text = (t("feedback.prefill", url=message.jump_url, content=message.content) if message.content
                else t("feedback.prefill_no_content", url=message.jump_url))
        title = message.content.strip().splitlines()[0][:60] if message.content.strip() else None
        await interaction.response.send_modal(FeedbackModal(self.app, text=text, title=title,
                                                            source_url=message.jump_url))

    @app_commands.command(name="mine", description="Your feedback and where it stands")
    async def mine(self, interaction: discord.Interaction) -> None:
        service, t = self.app.feedback, self.app.t
        items = await service.mine(interaction.guild_id, interaction.user.id)
        if not items:
            await respond(interaction, t("feedback.mine_empty"))
            return
        lines = [t("feedback.mine_line", id=i.id, category=service.category_label(i.category),
                   title=discord.utils.escape_markdown(i.title[:80]), status=service.status_label(i.status),
                   upvotes=i.upvotes) for i in items]
        await respond(interaction, embed=discord.Embed(title=t("feedback.mine_title"), description="\n".join(lines)[:4096]))

    # --- moderators ---------------------------------------------------------------------------------
    @app_commands.command(name="show", description="Moderators: one feedback item, with its author and history")
    @app_commands.describe(item="the feedback number, like 12")
    @is_moderator()
    async def show(self, interaction: discord.Interaction, item: app_commands.Range[int, 1]) -> None:
        service, t = self.app.feedback, self.app.t
        details = await service.details(interaction.guild_id, item)
        embed = discord.Embed.from_dict(service.queue_embed(details.item))
        history = "\n".join(t("feedback.history_line", ts=int(h["created_at"].timestamp()),
                              old=service.status_label(h["old_status"]), new=service.status_label(h["new_status"]),
                              actor=h["actor_id"]) for h in details.history) or t("feedback.history_none")
        embed.add_field(name=t("feedback.history_title"), value=history[:1024], inline=False)
        await respond(interaction, embed=embed)

    @app_commands.command(name="export", description="Moderators: all feedback as a CSV file")
    @app_commands.describe(since="only items from this date on (YYYY-MM-DD)")
    @is_moderator()
    async def export(self, interaction: discord.Interaction, since: Optional[str] = None) -> None:
        service = self.app.feedback
        start = service.parse_since(since)
        await interaction.response.defer(ephemeral=True, thinking=True)
        data, count = await service.export_csv(interaction.guild_id, start)
        name = f"feedback-{self.app.clock.now():%Y%m%d-%H%M}.csv"
        note = self.app.t("feedback.export_since", since=since) if start else ""
        await service.record_export(interaction.guild_id, interaction.user.id, count, since if start else None)
        await respond(interaction, self.app.t("feedback.export_done", count=count, since=note),
                      file=discord.File(io.BytesIO(data), filename=name))

    # --- 👍/👎 on announcements ---------------------------------------------------------------------
    def _reaction_channel_key(self, guild_id: int, channel_id: int) -> str | None:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return None
        for key in self.app.feedback.settings.reactions_on:
            channel = self.bot.resolve_channel(guild, key)
            if channel is not None and channel.id == channel_id:
                return key
        return None

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id is None or (payload.member is not None and payload.member.bot):
            return
        key = self._reaction_channel_key(payload.guild_id, payload.channel_id)
        if key is not None:
            await self.app.feedback.record_reaction(payload.guild_id, channel_key=key, channel_id=payload.channel_id,
                                                    message_id=payload.message_id, user_id=payload.user_id,
                                                    emoji=str(payload.emoji))

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id is None or self._reaction_channel_key(payload.guild_id, payload.channel_id) is None:
            return
        await self.app.feedback.remove_reaction(payload.guild_id, message_id=payload.message_id,
                                                user_id=payload.user_id, emoji=str(payload.emoji))
