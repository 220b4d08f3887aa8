"""/ama open | ask | upvote | questions | answer | close."""
from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator, member_is_moderator
from bot.errors import UserError
from bot.tree import respond

from ._views import AnswerModal, AskButton, UpvoteButton


@app_commands.guild_only()
class AmaCog(commands.GroupCog, group_name="ama", group_description="Guest sessions: ask the guest anything"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AskButton, UpvoteButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AskButton, UpvoteButton)

    def _channel_key(self, guild: discord.Guild, channel: discord.abc.GuildChannel | None) -> str | None:
        if channel is None:
            return None
        for key in self.app.config.community.channels:
            resolved = self.bot.resolve_channel(guild, key)
            if resolved is not None and resolved.id == channel.id:
                return key
        raise UserError("ama.channel_not_configured", channel=channel.mention)

    # --- moderators ---------------------------------------------------------------------------------
    @app_commands.command(name="open", description="Moderators: open a guest session with a thread")
    @app_commands.describe(guest="who answers the questions", topic="what the session is about",
                           until="when it closes itself: 90m, 2h, 21:00 or 2026-12-24 20:00 (optional)",
                           channel="where to post it (default: lounge)",
                           starts="plan it for later: 90m, 21:00 or 2026-12-24 20:00 (members get a reminder)")
    @is_moderator()
    async def open_session(self, interaction: discord.Interaction, guest: discord.Member,
                   topic: app_commands.Range[str, 1, 200], until: Optional[str] = None,
                   channel: Optional[discord.TextChannel] = None, starts: Optional[str] = None) -> None:
        if guest.bot:
            raise UserError("ama.guest_is_bot")
        session = await self.app.ama.open(interaction.guild_id, actor_id=interaction.user.id, guest_id=guest.id,
                                          topic=topic, channel_key=self._channel_key(interaction.guild, channel),
                                          until=until, starts=starts)
        if session.is_planned:
            await respond(interaction, self.app.t("ama.planned", topic=session.topic, guest=guest.mention,
                                                  id=session.id, when=f"<t:{int(session.starts_at.timestamp())}:f>"))
            return
        await respond(interaction, self.app.t("ama.opened", topic=session.topic, guest=guest.mention, id=session.id))

    @app_commands.command(name="close", description="Moderators: close the session and post its summary")
    @is_moderator()
    async def close_session(self, interaction: discord.Interaction) -> None:
        summary = await self.app.ama.close(interaction.guild_id, interaction.user.id)
        await respond(interaction, self.app.t("ama.closed", topic=summary.session.topic, answered=summary.answered,
                                              unanswered=summary.unanswered))

    @app_commands.command(name="cancel", description="Moderators: cancel the next planned session")
    @is_moderator()
    async def cancel_session(self, interaction: discord.Interaction) -> None:
        session = await self.app.ama.cancel(interaction.guild_id, interaction.user.id)
        await respond(interaction, self.app.t("ama.canceled", topic=session.topic))

    # --- the guest and moderators -------------------------------------------------------------------
    @app_commands.command(name="questions", description="The guest and moderators: questions, most upvoted first")
    async def questions(self, interaction: discord.Interaction) -> None:
        t = self.app.t
        session, ranked = await self.app.ama.ranked(interaction.guild_id, interaction.user.id,
                                                    is_moderator=member_is_moderator(self.bot, interaction.user))
        lines = [t("ama.questions_line", id=q.id, votes=q.votes, author=f"<@{q.author_id}>",
                   answered=t("ama.questions_answered_mark") if q.answered else "",
                   text=discord.utils.escape_markdown(" ".join(q.text.split()))[:200]) for q in ranked]
        body = "\n".join(lines) if lines else t("ama.questions_empty")
        await respond(interaction, (t("ama.questions_title", topic=session.topic) + "\n" + body)[:2000])

    @app_commands.command(name="answer", description="The guest and moderators: answer a question in the thread")
    @app_commands.describe(id="the question number, like 3")
    async def answer(self, interaction: discord.Interaction, id: app_commands.Range[int, 1]) -> None:
        # a modal, not a text option: its max_length is the room this question's post leaves the answer
        room = await self.app.ama.answer_room(interaction.guild_id, interaction.user.id, id,
                                              is_moderator=member_is_moderator(self.bot, interaction.user))
        await interaction.response.send_modal(AnswerModal(self.app, id, room))

    # --- members ------------------------------------------------------------------------------------
    @app_commands.command(name="ask", description="Ask the guest a question")
    @app_commands.describe(question="what you would like to know")
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 500]) -> None:
        asked = await self.app.ama.ask(interaction.guild_id, interaction.user.id, question)
        await respond(interaction, self.app.t("ama.asked", id=asked.id))

    @app_commands.command(name="upvote", description="Upvote a question you want answered")
    @app_commands.describe(id="the question number, like 3")
    async def upvote(self, interaction: discord.Interaction, id: app_commands.Range[int, 1]) -> None:
        votes = await self.app.ama.upvote(interaction.guild_id, interaction.user.id, id)
        await respond(interaction, self.app.t("ama.upvoted", id=id, votes=votes))
