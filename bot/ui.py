"""Base classes for views, modals and persistent buttons: errors are reported the same way everywhere."""
from __future__ import annotations

import functools
import re
from datetime import timedelta
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


def layout_view(card, buttons=()) -> discord.ui.LayoutView:
    """A components-v2 LayoutView of a card (bot.services.messages.Card): one container; a block with a
    thumbnail is a section with the picture as its accessory, an image a media gallery, text a text
    display; the buttons (persistent DynamicItems, as in `view_from_buttons`) in a row at the foot.
    What the sender sends, the dry run validates and the cogs reply with: rendered here only."""
    container = discord.ui.Container(accent_colour=card.accent)
    for block in card.blocks:
        if block.separator:
            container.add_item(discord.ui.Separator())
        if block.image:
            container.add_item(discord.ui.MediaGallery(discord.MediaGalleryItem(block.image)))
        if block.text and block.thumbnail:
            container.add_item(discord.ui.Section(discord.ui.TextDisplay(block.text),
                                                  accessory=discord.ui.Thumbnail(block.thumbnail)))
        elif block.text:
            container.add_item(discord.ui.TextDisplay(block.text))
    if buttons:
        container.add_item(discord.ui.ActionRow(*(
            discord.ui.Button(label=b.label, custom_id=b.custom_id, style=STYLES[b.style], url=b.url, emoji=b.emoji,
                              disabled=b.disabled) for b in buttons)))
    view = discord.ui.LayoutView(timeout=None)
    view.add_item(container)
    return view


def message_kwargs(message, *, editing: bool = False) -> dict[str, Any]:
    """discord.py's send/edit arguments for an OutMessage: content, embeds and a View of its buttons,
    or, for a card, only the LayoutView (Discord refuses content and embeds beside one; an edit clears
    them). `allowed_mentions` is the caller's."""
    if message.card is not None:
        kwargs: dict[str, Any] = {"view": layout_view(message.card, message.buttons)}
        if editing:
            kwargs.update(content=None, embeds=[])
        return kwargs
    kwargs = {"content": message.content or None, "embeds": [discord.Embed.from_dict(e) for e in message.embeds]}
    view = view_from_buttons(message.buttons)
    if view is not None or editing:
        kwargs["view"] = view
    if message.poll and not editing:  # a poll is sent once and never edited
        kwargs["poll"] = native_poll(message.poll)
    return kwargs


def native_poll(spec: dict) -> discord.Poll:
    """OutMessage.poll (plain data, bot.services.participation.polls) as discord.py's Poll."""
    poll = discord.Poll(question=spec["question"], duration=timedelta(hours=int(spec["hours"])),
                        multiple=bool(spec.get("multiselect")))
    for answer in spec["answers"]:
        poll.add_answer(text=answer)
    return poll
