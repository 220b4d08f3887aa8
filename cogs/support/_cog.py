"""/help ask | solved | search | promote | feedback, and the "Mark as solution" message menu."""
from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator
from bot.errors import UserError
from bot.tree import respond

from ._views import AskModal, PromoteModal, SolvedButton, mark_solved


@app_commands.guild_only()
class HelpCog(commands.GroupCog, group_name="help", group_description="Ask the team and the community for help"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        self.menu = app_commands.ContextMenu(name=self.app.t("support.menu_name")[:32], callback=self.mark_solution)
        self.menu.guild_only = True
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(SolvedButton)
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        self.bot.remove_dynamic_items(SolvedButton)

    def _thread_id(self, interaction: discord.Interaction) -> int | None:
        return interaction.channel.id if isinstance(interaction.channel, discord.Thread) else None

    # --- members ------------------------------------------------------------------------------------
    @app_commands.command(name="ask", description="Ask the team a question in the help forum")
    @app_commands.describe(topic="what it is about")
    async def ask(self, interaction: discord.Interaction, topic: Optional[str] = None) -> None:
        topic = self.app.support.resolve_topic(topic)  # an unknown topic: said before the form opens
        await interaction.response.send_modal(AskModal(self.app, topic))

    @ask.autocomplete("topic")
    async def _topics(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        typed = typed.casefold()
        return [app_commands.Choice(name=t.name, value=t.key) for t in self.app.support.settings.topics
                if typed in t.name.casefold() or typed in t.key][:25]

    @app_commands.command(name="solved", description="Mark this help post solved")
    async def solved(self, interaction: discord.Interaction) -> None:
        post = await self.app.support.in_thread(interaction.guild_id, self._thread_id(interaction))
        await mark_solved(interaction, self.app, post.id)

    async def mark_solution(self, interaction: discord.Interaction, message: discord.Message) -> None:
        # the interaction carries the message's text even without the message-content intent
        post = await self.app.support.in_thread(interaction.guild_id, message.channel.id)
        await mark_solved(interaction, self.app, post.id, answer=message)

    @app_commands.command(name="search", description="Search the FAQ and solved help posts")
    @app_commands.describe(query="a few words about your problem")
    async def search(self, interaction: discord.Interaction, query: app_commands.Range[str, 2, 200]) -> None:
        found = await self.app.support.search(interaction.guild_id, query)
        t = self.app.t
        if not found:
            await respond(interaction, t("support.search_none", query=discord.utils.escape_markdown(query)))
            return
        text = t("support.search_intro", query=discord.utils.escape_markdown(query)) + "\n\n" + self.app.support.suggestions_text(found)
        await respond(interaction, text[:2000])

    # --- the team -----------------------------------------------------------------------------------
    @app_commands.command(name="promote", description="Moderators: turn this solved help post into an FAQ entry")
    @is_moderator()
    async def promote(self, interaction: discord.Interaction) -> None:
        service = self.app.support
        post = await service.in_thread(interaction.guild_id, self._thread_id(interaction))
        if post.state != "solved":  # said before the form opens
            raise UserError("support.promote_unsolved", id=post.id)
        await interaction.response.send_modal(PromoteModal(self.app, post.id, service.promotion_draft(post)))

    @app_commands.command(name="feedback", description="Moderators: turn this help post into a feedback item")
    @app_commands.describe(category="the feedback category (default: the first one)")
    @is_moderator()
    async def feedback(self, interaction: discord.Interaction, category: Optional[str] = None) -> None:
        service = self.app.support
        post = await service.in_thread(interaction.guild_id, self._thread_id(interaction))
        item = await service.to_feedback(interaction.guild_id, post.id, actor_id=interaction.user.id, category=category)
        await respond(interaction, self.app.t("support.feedback_made", id=post.id, item=item.id))

    @feedback.autocomplete("category")
    async def _categories(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        service = self.app.feedback
        return [app_commands.Choice(name=service.category_label(c)[:100], value=c)
                for c in service.settings.categories if typed.casefold() in c][:25]
