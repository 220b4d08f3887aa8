"""The command tree: one place that turns errors into replies."""
from __future__ import annotations

import logging
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.checks import NotModeratorFailure
from bot.errors import UserError

log = logging.getLogger(__name__)


async def respond(interaction: discord.Interaction, content: str | None = None, *, ephemeral: bool = True,
                  **kwargs: Any) -> None:
    """Answer an interaction whether or not it was already answered or deferred."""
    if interaction.response.is_done():
        await interaction.followup.send(content, ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=ephemeral, **kwargs)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Shared by the tree, views and modals: user errors become an ephemeral reply in the
    community's language; anything else is logged with an id the reply shows."""
    app = interaction.client.app
    original = getattr(error, "original", None) or error
    if isinstance(original, UserError):
        text = app.t(original.key, **original.params)
    elif isinstance(error, NotModeratorFailure):
        text = app.t("core.not_moderator")
    elif isinstance(error, app_commands.TransformerError):
        text = app.t("core.bad_argument", detail=str(error))
    elif isinstance(error, app_commands.CommandOnCooldown):
        text = app.t("core.cooldown", seconds=int(error.retry_after) + 1)
    elif isinstance(error, app_commands.BotMissingPermissions):
        text = app.t("core.missing_permissions", detail=", ".join(error.missing_permissions))
    elif isinstance(error, app_commands.CheckFailure):
        text = app.t("core.not_allowed")
    else:
        error_id = secrets.token_hex(4)
        log.error("unexpected error %s", error_id, exc_info=original)
        text = app.t("core.unexpected_error", error_id=error_id)
    try:
        await respond(interaction, text, ephemeral=True)
    except discord.HTTPException:
        log.exception("could not report an error to the user")


class KizunaTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)
