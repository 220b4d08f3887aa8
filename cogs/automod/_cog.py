"""The Discord side of AutoMod: keep the rule in sync after a config reload, and hand the rule's
firings (AUTO_MODERATION_ACTION_EXECUTION) to the service."""
from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.services.automod import Flagged, SyncOutcome

from ._sync import sync_rule

log = logging.getLogger(__name__)


class AutoModCog(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        self.loaded = False

    async def cog_load(self) -> None:
        self.loaded = True
        self.app.automod.syncer = self._sync  # the public seam: app.automod.sync(guild_id) (/setup uses it)
        self.app.events.on("config.reloaded", self._config_reloaded)

    async def cog_unload(self) -> None:
        self.loaded = False  # app.events keeps handlers; this one then does nothing
        if self.app.automod.syncer == self._sync:
            self.app.automod.syncer = None

    async def _sync(self, guild_id: int) -> SyncOutcome:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return SyncOutcome("failed", detail=self.app.t("automod.setup_no_guild"))
        return await sync_rule(self.bot, guild)

    async def _config_reloaded(self, config) -> None:
        """New risk words (or block on/off) reach Discord without waiting for the next /setup: the
        rule is updated in place (created if it is new in the config, turned off if it was removed)."""
        guild = self.bot.get_guild(self.app.guild_id) if self.loaded and self.app.guild_id else None
        if guild is None or (self.app.automod.desired() is None and await self.app.automod.rule_id(guild.id) is None):
            return
        outcome = await self.app.automod.sync(guild.id)  # kept for /admin reload's reply
        log.info("AutoMod rule after the reload: %s %s", outcome.outcome, outcome.detail)

    @commands.Cog.listener()
    async def on_automod_action(self, execution: discord.AutoModAction) -> None:
        if self.app.guild_id is not None and execution.guild_id != self.app.guild_id:
            return
        alert = execution.action.type is discord.AutoModRuleActionType.send_alert_message
        alert_url = None
        if alert and execution.alert_system_message_id and execution.action.channel_id:
            alert_url = (f"https://discord.com/channels/{execution.guild_id}/{execution.action.channel_id}/"
                         f"{execution.alert_system_message_id}")
        await self.app.automod.flagged(Flagged(
            guild_id=execution.guild_id, rule_id=execution.rule_id, user_id=execution.user_id,
            channel_id=execution.channel_id, message_id=execution.message_id,
            alert_message_id=execution.alert_system_message_id, matched_keyword=execution.matched_keyword,
            content=execution.content or "", alert_url=alert_url), alert=alert)
