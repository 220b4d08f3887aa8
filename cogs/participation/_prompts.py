"""/prompt suggest, and the moderators' Approve / Reject buttons on a suggestion in the mod queue."""
from __future__ import annotations

import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import member_is_moderator
from bot.errors import NotModerator
from bot.tree import respond
from bot.ui import guarded


class SuggestionDecision(discord.ui.DynamicItem[discord.ui.Button],
                         template=r"kizuna:prompt:(?P<decision>approve|reject):(?P<suggestion_id>\d+)"):
    """Persistent: the suggestion's state is in the database, so the buttons work after a restart."""

    def __init__(self, decision: str, suggestion_id: int) -> None:
        super().__init__(discord.ui.Button(label=decision, custom_id=f"kizuna:prompt:{decision}:{suggestion_id}"))
        self.decision = decision
        self.suggestion_id = suggestion_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /):
        return cls(match["decision"], int(match["suggestion_id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        app = interaction.client.app
        if not member_is_moderator(interaction.client, interaction.user):
            raise NotModerator()
        approve = self.decision == "approve"
        await app.participation.prompts.decide(interaction.guild_id, self.suggestion_id, interaction.user.id,
                                               approve=approve)
        status = app.t("participation.status_approved" if approve else "participation.status_rejected")
        embeds = [e.copy() for e in interaction.message.embeds] if interaction.message else []
        if embeds:
            embeds[0].add_field(name="\u200b", value=app.t("participation.suggestion_decision", status=status,
                                                            moderator=interaction.user.mention), inline=False)
            await interaction.response.edit_message(embeds=embeds, view=None)
        key = "participation.suggestion_approved_reply" if approve else "participation.suggestion_rejected_reply"
        await respond(interaction, app.t(key, id=self.suggestion_id))


@app_commands.guild_only()
class PromptCog(commands.GroupCog, group_name="prompt", group_description="Daily prompts (question of the day)"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(SuggestionDecision)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(SuggestionDecision)

    @app_commands.command(name="suggest", description="Suggest a question of the day (moderators review it)")
    @app_commands.describe(text="your prompt idea")
    async def suggest(self, interaction: discord.Interaction, text: app_commands.Range[str, 1, 1000]) -> None:
        suggestion_id = await self.app.participation.prompts.suggest(interaction.guild_id, interaction.user.id, text)
        await respond(interaction, self.app.t("participation.suggestion_received", id=suggestion_id))
