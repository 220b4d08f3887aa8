"""The bot's side of the service ports: the outbox sender and guild operations, with discord.py."""
from __future__ import annotations

import base64
import io
import logging
import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterator

import discord

from bot.services.messages import OutMessage, Sent, Target
from bot.services.outbox import RateLimited, Undeliverable
from bot.ui import view_from_buttons

if TYPE_CHECKING:
    from bot.client import KizunaBot

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()


class DiscordSender:
    PERSONA_HOOK_NAME = "Kizuna persona"

    def __init__(self, bot: "KizunaBot") -> None:
        self.bot = bot
        self._hooks: dict[int, discord.Webhook] = {}  # channel id -> the persona webhook (saves a GET per post)

    async def send(self, guild_id: int, target: Target, message: OutMessage, *, nonce: str | None = None) -> Sent:
        """Post `message`. With `nonce` (the outbox row's) discord.py sets enforce_nonce, so a resend
        within Discord's window returns the first message instead of posting again. Persona posts go
        through a webhook, which takes no nonce: the outbox looks for those before resending."""
        destination = await self._destination(guild_id, target)
        embeds = [discord.Embed.from_dict(e) for e in message.embeds]
        view = view_from_buttons(message.buttons)
        kwargs = {"content": message.content or None, "embeds": embeds, "allowed_mentions": NO_PINGS}
        if view is not None:
            kwargs["view"] = view
        with _outbox_errors():
            if message.as_persona and isinstance(destination, discord.TextChannel):
                sent = await self._send_as_persona(destination, kwargs, message)
                if sent is not None:
                    return sent
            if nonce is not None:
                kwargs["nonce"] = nonce
            msg = await destination.send(**kwargs, **_files(message))
            if message.thread_name and isinstance(msg.channel, discord.TextChannel):
                thread = await self._thread_on(msg, message.thread_name)
                return Sent(msg.id, msg.channel.id, {"thread_id": thread.id})
            return Sent(msg.id, msg.channel.id)

    async def find(self, guild_id: int, target: Target, message: OutMessage, *, since: datetime,
                   exclude: set[int]) -> Sent | None:
        """The message equal to `message` that the bot (or its persona webhook) posted in `target` since
        `since` and that no other outbox row recorded; None if there is none. Reads the channel's (or
        the DM's) history from just before `since`, oldest first."""
        destination = await self._destination(guild_id, target)
        with _outbox_errors():
            channel = destination
            if isinstance(destination, (discord.User, discord.Member)):
                channel = destination.dm_channel or await destination.create_dm()
            me = self.bot.user.id if self.bot.user else None
            hook_ids = {h.id for h in self._hooks.values()}
            if isinstance(channel, discord.TextChannel) and channel.permissions_for(channel.guild.me).manage_webhooks:
                hook_ids |= {h.id for h in await channel.webhooks() if h.name == self.PERSONA_HOOK_NAME}
            wanted = _fingerprint(message.content, message.embeds, [name for name, _ in message.files])
            async for msg in channel.history(limit=100, after=since - timedelta(seconds=5), oldest_first=True):
                if msg.id in exclude or not (msg.author.id == me or (msg.webhook_id and msg.webhook_id in hook_ids)):
                    continue
                if _fingerprint(msg.content, [e.to_dict() for e in msg.embeds],
                                [a.filename for a in msg.attachments]) != wanted:
                    continue
                extra: dict[str, Any] = {"persona": True} if msg.webhook_id else {}
                if message.thread_name and isinstance(channel, discord.TextChannel):
                    extra["thread_id"] = (await self._thread_on(msg, message.thread_name)).id
                return Sent(msg.id, channel.id, extra)
        return None

    async def _thread_on(self, msg: discord.Message, name: str) -> discord.Thread:
        """Open the thread on a posted message, or the one already there (a resend after a crash
        between the post and its thread)."""
        try:
            return await msg.create_thread(name=name[:100])
        except discord.HTTPException as exc:
            if exc.code != 160004:  # "A thread has already been created for this message"
                raise
            fetched = await msg.channel.fetch_message(msg.id)
            if fetched.thread is None:
                raise
            return fetched.thread

    async def edit(self, guild_id: int, target: Target, message_id: int, message: OutMessage) -> Sent:
        """Replace a message sent earlier: through the persona webhook if it was posted as the
        persona (only the webhook may edit its messages), else as the bot."""
        destination = await self._destination(guild_id, target)
        channel = destination if isinstance(destination, discord.abc.Messageable) else None
        kwargs = {"content": message.content or None, "embeds": [discord.Embed.from_dict(e) for e in message.embeds],
                  "view": view_from_buttons(message.buttons), "allowed_mentions": NO_PINGS}
        with _outbox_errors():
            if message.as_persona and isinstance(channel, discord.TextChannel):
                hook = self._hooks.get(channel.id)
                if hook is None and channel.permissions_for(channel.guild.me).manage_webhooks:
                    hook = await self._persona_hook(channel)
                if hook is not None:
                    msg = await hook.edit_message(message_id, **kwargs)
                    return Sent(msg.id, channel.id, {"persona": True})
            if isinstance(destination, (discord.User, discord.Member)):
                channel = destination.dm_channel or await destination.create_dm()
            msg = await channel.get_partial_message(message_id).edit(**kwargs)
            return Sent(msg.id, msg.channel.id)

    async def _send_as_persona(self, channel: discord.TextChannel, kwargs: dict,
                               message: OutMessage) -> Sent | None:
        """Post as the character (the persona's name and avatar) through a webhook the bot owns.

        None means "post as the bot instead": the persona is off, the bot lacks Manage Webhooks, or
        Discord refused the webhook. Buttons work too: a webhook created by the bot is owned by its
        application, so its messages may carry interactive components.
        """
        persona = self.bot.config.community.persona
        if not persona.use_webhook or not channel.permissions_for(channel.guild.me).manage_webhooks:
            return None
        options = dict(kwargs, username=persona.name, wait=True)
        if persona.avatar_url:
            options["avatar_url"] = str(persona.avatar_url)
        for attempt in (1, 2):
            try:
                hook = await self._persona_hook(channel)
                msg = await hook.send(**options, **_files(message))  # fresh File objects per attempt
                break
            except discord.NotFound:
                # the webhook was deleted by hand since we cached it: make a new one, once
                self._hooks.pop(channel.id, None)
                if attempt == 2:
                    return None
            except discord.Forbidden:
                self._hooks.pop(channel.id, None)
                log.info("persona webhook refused in #%s; posting as the bot", channel.name)
                return None
        extra: dict = {"persona": True}
        if message.thread_name:
            thread = await channel.create_thread(name=message.thread_name[:100], message=discord.Object(msg.id))
            extra["thread_id"] = thread.id
        return Sent(msg.id, channel.id, extra)

    async def _persona_hook(self, channel: discord.TextChannel) -> discord.Webhook:
        hook = self._hooks.get(channel.id)
        if hook is None:
            me = self.bot.user.id if self.bot.user else None
            hooks = [h for h in await channel.webhooks()
                     if h.name == self.PERSONA_HOOK_NAME and h.token and (h.user is None or h.user.id == me)]
            hook = hooks[0] if hooks else await channel.create_webhook(name=self.PERSONA_HOOK_NAME)
            self._hooks[channel.id] = hook
        return hook

    async def _destination(self, guild_id: int, target: Target):
        if target.kind == "dm":
            user = self.bot.get_user(int(target.value))
            if user is None:
                try:
                    user = await self.bot.fetch_user(int(target.value))
                except discord.NotFound as exc:
                    raise Undeliverable("user not found", cause="unknown_user") from exc
            return user
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise ConnectionError(f"guild {guild_id} not available yet")
        if target.kind == "channel_id":
            channel = guild.get_channel_or_thread(int(target.value))
        else:
            channel = self.bot.resolve_channel(guild, target.value)
        if channel is None:
            raise Undeliverable(f"channel {target.value!r} not found (run /setup?)", cause="unknown_channel")
        return channel


@contextmanager
def _outbox_errors() -> Iterator[None]:
    """discord.py's errors as the outbox reads them: 4xx other than 429 is permanent (Undeliverable,
    with its cause), 429 waits `retry_after`, anything else (5xx, timeouts, network) is retried."""
    try:
        yield
    except discord.RateLimited as exc:  # discord.py gave up waiting (max_ratelimit_timeout)
        raise RateLimited(float(exc.retry_after)) from exc
    except discord.HTTPException as exc:
        if exc.status == 429:
            seconds, scope = _retry_after(exc)
            raise RateLimited(seconds, scope=scope) from exc
        if 400 <= exc.status < 500:
            cause, field = _cause(exc)
            kind = {403: "forbidden", 404: "not found"}.get(exc.status, f"refused ({exc.status})")
            raise Undeliverable(f"{kind}: {exc.text or exc}", cause=cause, field=field) from exc
        raise


_FIELD_LINE = re.compile(r"^In ([\w.\[\]]+): (.*)$", re.M)


def _cause(exc: discord.HTTPException) -> tuple[str, str | None]:
    """The outbox cause (one of bot.services.outbox.CAUSES) of a 4xx, and the field Discord named."""
    text = exc.text or ""
    if exc.status == 413 or exc.code == 40005:
        return "too_large", None
    if exc.status == 403:
        return ("dms_closed", None) if exc.code == 50007 else ("missing_permission", None)
    if exc.status == 404:
        return {10003: "unknown_channel", 10013: "unknown_user"}.get(exc.code, "refused"), None
    if exc.code == 50035:  # Invalid Form Body: "In embeds.0.description: Must be 4096 or fewer in length."
        found = _FIELD_LINE.search(text)
        field = found.group(1) if found else None
        too_long = "or fewer in length" in text or "MAX_LENGTH" in text or "too large" in text.lower()
        return ("too_large" if too_long else "invalid_form"), field
    return "refused", None


def _retry_after(exc: discord.HTTPException) -> tuple[float, str]:
    headers = getattr(exc.response, "headers", None) or {}
    try:
        seconds = float(headers.get("Retry-After") or 5.0)
    except (TypeError, ValueError):
        seconds = 5.0
    scope = "global" if (headers.get("X-RateLimit-Global") in ("true", True)
                         or headers.get("X-RateLimit-Scope") == "global") else "route"
    return seconds, scope


def _fingerprint(content: str | None, embeds: Any, files: list[str]) -> tuple:
    """What identifies a message the bot posted: its text, the visible parts of its embeds, its files
    (Discord adds fields such as `type` and proxy urls to what it returns)."""
    def embed(e: dict) -> tuple:
        return (e.get("title") or "", e.get("description") or "", e.get("url") or "",
                (e.get("footer") or {}).get("text") or "", (e.get("author") or {}).get("name") or "",
                tuple(((f.get("name") or ""), (f.get("value") or "")) for f in e.get("fields") or ()))
    return (content or "", tuple(embed(e) for e in embeds or ()), tuple(files))


def _files(message: OutMessage) -> dict:
    """`files=` for a send: new File objects each time (discord.py closes them after a request)."""
    if not message.files:
        return {}
    return {"files": [discord.File(io.BytesIO(base64.b64decode(data)), filename=name)
                      for name, data in message.files]}


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
        # the claim path asks this for every click of a burst: no sorting, no Role lists
        return {key for key, role_id in self.bot.role_ids(guild).items() if member.get_role(role_id) is not None}

    async def members_with_role(self, guild_id: int, role_key: str) -> list[int]:
        guild = self.bot.get_guild(guild_id)
        role = self.bot.resolve_role(guild, role_key) if guild else None
        return sorted(m.id for m in role.members) if role else []

    async def member_count(self, guild_id: int, role_key: str | None = None) -> int | None:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return None
        if role_key is None:
            return guild.member_count or len(guild.members)
        role = self.bot.resolve_role(guild, role_key)
        return len(role.members) if role else 0

    async def display_names(self, guild_id: int, user_ids: list[int]) -> dict[int, str]:
        guild = self.bot.get_guild(guild_id)
        members = [guild.get_member(u) for u in user_ids] if guild else []
        return {m.id: m.display_name for m in members if m is not None}

    async def channel_names(self, guild_id: int, channel_ids: list[int]) -> dict[int, str]:
        guild = self.bot.get_guild(guild_id)
        channels = [guild.get_channel_or_thread(c) for c in channel_ids] if guild else []
        return {c.id: c.name for c in channels if c is not None}
