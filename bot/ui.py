"""Base classes for views, modals and persistent buttons: errors are reported the same way everywhere."""
from __future__ import annotations

import functools
import re
from typing import Any, Awaitable, Callable

import discord

from bot.tree import report_error, respond


class KizunaView(discord.ui.View):
    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:
        await report_error(interaction, error)


class KizunaModal(discord.ui.Modal):
    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report_error(interaction, error)


def guarded(func: Callable[..., Awaitable[Any]]):
    """For DynamicItem callbacks, whose exceptions discord.py would only log: report them instead."""

    @functools.wraps(func)
    async def wrapper(self, interaction: discord.Interaction, *args: Any, **kwargs: Any) -> Any:
        try:
            return await func(self, interaction, *args, **kwargs)
        except Exception as error:
            await report_error(interaction, error)

    return wrapper


class TextAnswer:
    """Mixin for a persistent button (a DynamicItem) whose whole answer is one ephemeral text:
    `answer(app, match, guild_id, user_id)`, a classmethod given its custom_id's template match.
    discord.py's callback below and the hot-click path (bot/fast_clicks.py, which builds no item at
    all) both call it, so the two give the same reply; register with `bot.fast_clicks.add(cls)` beside
    `add_dynamic_items`."""

    @classmethod
    async def answer(cls, app: Any, match: re.Match[str], guild_id: int, user_id: int) -> str:
        raise NotImplementedError

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        match = self.template.fullmatch(self.custom_id)
        text = await self.answer(interaction.client.app, match, interaction.guild_id, interaction.user.id)
        await respond(interaction, text)


STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
    "link": discord.ButtonStyle.link,
}


def view_from_buttons(buttons) -> discord.ui.View | None:
    """A View of plain buttons (bot.services.messages.Button). Persistent ones are DynamicItems
    registered by their cog; discord.py matches them by custom_id when clicked."""
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for b in buttons:
        view.add_item(discord.ui.Button(label=b.label, custom_id=b.custom_id, style=STYLES[b.style], url=b.url,
                                        emoji=b.emoji, disabled=b.disabled))
    return view
