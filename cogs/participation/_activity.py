"""The message listener: counts messages per member per day (no content: the bot has no message-content
intent) and gives prompt-answer points for messages in a daily prompt's thread."""
from __future__ import annotations

import logging

import discord
from discord.ext import commands

log = logging.getLogger(__name__)


class ActivityListener(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        self._keys: dict[int, str | None] = {}  # channel id -> config key (None: not a configured channel)

    def channel_key(self, guild: discord.Guild, channel_id: int) -> str | None:
        if channel_id not in self._keys:
            for key in self.app.config.community.channels:
                channel = self.bot.resolve_channel(guild, key)
                if channel is not None:
                    self._keys[channel.id] = key
            self._keys.setdefault(channel_id, None)
        return self._keys[channel_id]

    @commands.Cog.listener()
    async def on_guild_channel_create(self, channel) -> None:
        self._keys.clear()

    @commands.Cog.listener()
    async def on_guild_channel_update(self, before, after) -> None:
        self._keys.clear()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None or message.author.bot or message.webhook_id is not None:
            return
        participation = self.app.participation
        channel = message.channel
        parent_id = getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else None
        key = self.channel_key(message.guild, parent_id or channel.id)
        if participation.activity.counts_channel(key):
            participation.record_message(message.guild.id, message.author.id, channel.id, self.app.clock.now())
        if parent_id is not None and participation.prompts.is_prompt_thread(channel.id):
            await participation.prompts.record_answer(message.guild.id, message.author.id, channel.id,
                                                      self.app.clock.now())
