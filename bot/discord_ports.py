"""The bot's side of the service ports: the outbox sender and guild operations, with discord.py."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.services.messages import OutMessage, Sent, Target
from bot.services.outbox import RateLimited, Undeliverable
from bot.ui import view_from_buttons

if TYPE_CHECKING:
    from bot.client import KizunaBot

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()


class DiscordSender:
    def __init__(self, bot: "KizunaBot") -> None:
        self.bot = bot

    async def send(self, guild_id: int, target: Target, message: OutMessage) -> Sent:
        destination = await self._destination(guild_id, target)
        embeds = [discord.Embed.from_dict(e) for e in message.embeds]
        view = view_from_buttons(message.buttons)
        kwargs = {"content": message.content or None, "embeds": embeds, "allowed_mentions": NO_PINGS}
        if view is not None:
            kwargs["view"] = view
        try:
            if message.as_persona and isinstance(destination, discord.TextChannel) and view is None:
                sent = await self._send_as_persona(destination, kwargs)
                if sent is not None:
                    return sent
            msg = await destination.send(**kwargs)
            if message.thread_name and isinstance(msg.channel, discord.TextChannel):
                thread = await msg.create_thread(name=message.thread_name[:100])
                return Sent(msg.id, msg.channel.id, {"thread_id": thread.id})
            return Sent(msg.id, msg.channel.id)
        except discord.Forbidden as exc:
            raise Undeliverable(f"forbidden: {exc.text or exc}") from exc
        except discord.NotFound as exc:
            raise Undeliverable(f"not found: {exc.text or exc}") from exc
        except discord.HTTPException as exc:
            if exc.status == 429:
                raise RateLimited(float(getattr(exc, "retry_after", 5.0) or 5.0)) from exc
            raise

    async def _destination(self, guild_id: int, target: Target):
        if target.kind == "dm":
            user = self.bot.get_user(int(target.value))
            if user is None:
                try:
                    user = await self.bot.fetch_user(int(target.value))
                except discord.NotFound as exc:
                    raise Undeliverable("user not found") from exc
            return user
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise ConnectionError(f"guild {guild_id} not available yet")
        if target.kind == "channel_id":
            channel = guild.get_channel_or_thread(int(target.value))
        else:
            channel = self.bot.resolve_channel(guild, target.value)
        if channel is None:
            raise Undeliverable(f"channel {target.value!r} not found (run /setup?)")
        return channel

    async def _send_as_persona(self, channel: discord.TextChannel, kwargs: dict) -> Sent | None:
        """Post as the character through a webhook; None (fall back to the bot) without permission."""
        if not channel.permissions_for(channel.guild.me).manage_webhooks:
            return None
        persona = self.bot.config.community.persona
        if not persona.use_webhook:
            return None
        try:
            hooks = await channel.webhooks()
            hook = discord.utils.get(hooks, name="Kizuna persona") or await channel.create_webhook(name="Kizuna persona")
            msg = await hook.send(username=persona.name, avatar_url=str(persona.avatar_url) if persona.avatar_url else None,
                                  wait=True, **kwargs)
        except discord.Forbidden:
            return None
        return Sent(msg.id, channel.id, {"persona": True})


class DiscordGuildPort:
    def __init__(self, bot: "KizunaBot") -> None:
        self.bot = bot

    def _member(self, guild_id: int, user_id: int) -> tuple[discord.Guild | None, discord.Member | None]:
        guild = self.bot.get_guild(guild_id)
        return guild, (guild.get_member(user_id) if guild else None)

    async def add_role(self, guild_id: int, user_id: int, role_key: str, reason: str = "") -> bool:
        guild, member = self._member(guild_id, user_id)
        role = self.bot.resolve_role(guild, role_key) if guild else None
        if member is None or role is None:
            return False
        if role in member.roles:
            return True
        try:
            await member.add_roles(role, reason=reason or None)
        except discord.HTTPException:
            log.warning("could not give role %s to %s", role_key, user_id)
            return False
        return True

    async def remove_role(self, guild_id: int, user_id: int, role_key: str, reason: str = "") -> bool:
        guild, member = self._member(guild_id, user_id)
        role = self.bot.resolve_role(guild, role_key) if guild else None
        if member is None or role is None:
            return False
        if role not in member.roles:
            return True
        try:
            await member.remove_roles(role, reason=reason or None)
        except discord.HTTPException:
            log.warning("could not remove role %s from %s", role_key, user_id)
            return False
        return True

    async def member_role_keys(self, guild_id: int, user_id: int) -> set[str] | None:
        guild, member = self._member(guild_id, user_id)
        if member is None:
            return None
        ids = {r.id for r in member.roles}
        out = set()
        for key in self.bot.config.community.roles:
            role = self.bot.resolve_role(guild, key)
            if role is not None and role.id in ids:
                out.add(key)
        return out

    async def members_with_role(self, guild_id: int, role_key: str) -> list[int]:
        guild = self.bot.get_guild(guild_id)
        role = self.bot.resolve_role(guild, role_key) if guild else None
        return sorted(m.id for m in role.members) if role else []
