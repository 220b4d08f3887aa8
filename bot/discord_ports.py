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
from bot.services.ports import MemberStanding
from bot.ui import message_kwargs

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
        kwargs = message_kwargs(message) | {"allowed_mentions": NO_PINGS}
        with _outbox_errors():
            if isinstance(destination, discord.ForumChannel):
                return await self._forum_post(destination, kwargs, message)
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
        if isinstance(destination, discord.ForumChannel):
            return self._find_forum_post(destination, message, since=since, exclude=exclude)
        with _outbox_errors():
            channel = destination
            if isinstance(destination, (discord.User, discord.Member)):
                channel = destination.dm_channel or await destination.create_dm()
            me = self.bot.user.id if self.bot.user else None
            hook_ids = {h.id for h in self._hooks.values()}
            if isinstance(channel, discord.TextChannel) and channel.permissions_for(channel.guild.me).manage_webhooks:
                hook_ids |= {h.id for h in await channel.webhooks() if h.name == self.PERSONA_HOOK_NAME}
            wanted = _fingerprint(message.content, message.embeds, [name for name, _ in message.files],
                                  message.card.texts() if message.card else [])
            async for msg in channel.history(limit=100, after=since - timedelta(seconds=5), oldest_first=True):
                if msg.id in exclude or not (msg.author.id == me or (msg.webhook_id and msg.webhook_id in hook_ids)):
                    continue
                if _fingerprint(msg.content, [e.to_dict() for e in msg.embeds], [a.filename for a in msg.attachments],
                                _layout_texts([c.to_dict() for c in msg.components])) != wanted:
                    continue
                extra: dict[str, Any] = {"persona": True} if msg.webhook_id else {}
                if message.thread_name and isinstance(channel, discord.TextChannel):
                    extra["thread_id"] = (await self._thread_on(msg, message.thread_name)).id
                return Sent(msg.id, channel.id, extra)
        return None

    # --- forums: a post is a thread whose starter message shares its id (bot/services/forum.py) -----------
    async def _forum_post(self, forum: discord.ForumChannel, kwargs: dict, message: OutMessage) -> Sent:
        """Open a post: `thread_name` is its title, `tags` its tags by name (names the forum lacks are
        skipped: /setup creates them). No nonce exists for this route: `find` looks for the post."""
        by_name = {tag.name: tag for tag in forum.available_tags}
        tags = [by_name[n] for n in message.tags if n in by_name][:5]
        title = _post_title(message)
        post = await forum.create_thread(name=title, applied_tags=tags, **kwargs, **_files(message))
        return Sent(post.message.id, post.thread.id, {"thread_id": post.thread.id})

    def _find_forum_post(self, forum: discord.ForumChannel, message: OutMessage, *, since: datetime,
                         exclude: set[int]) -> Sent | None:
        me = self.bot.user.id if self.bot.user else None
        title = _post_title(message)
        for thread in sorted(forum.threads, key=lambda t: t.id):
            if (thread.owner_id == me and thread.name == title and thread.id not in exclude
                    and thread.created_at is not None and thread.created_at >= since - timedelta(seconds=5)):
                return Sent(thread.id, thread.id, {"thread_id": thread.id})
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
        kwargs = message_kwargs(message, editing=True) | {"allowed_mentions": NO_PINGS}
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
            if isinstance(destination, discord.ForumChannel):  # a post's starter message: in the post
                channel = destination.get_thread(message_id) or await self.bot.fetch_channel(message_id)
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
            if channel is None:  # a post Discord archived is not in the cache: ask for it (sending unarchives it)
                with _outbox_errors():
                    channel = await self.bot.fetch_channel(int(target.value))
        else:
            channel = self.bot.resolve_channel(guild, target.value)
        if channel is None:
            raise Undeliverable(f"channel {target.value!r} not found (run /setup?)", cause="unknown_channel")
        return channel


def _post_title(message: OutMessage) -> str:
    """A forum post's title: its thread name, else the first line of its text or embed title."""
    first = (message.content or "").strip().split("\n")[0] or next(
        (e.get("title") for e in message.embeds if e.get("title")), "")
    return (message.thread_name or first or "…")[:100]


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


def _fingerprint(content: str | None, embeds: Any, files: list[str], layout: list[str] = ()) -> tuple:
    """What identifies a message the bot posted: its text, the visible parts of its embeds, its files
    (Discord adds fields such as `type` and proxy urls to what it returns), the texts of its card."""
    def embed(e: dict) -> tuple:
        return (e.get("title") or "", e.get("description") or "", e.get("url") or "",
                (e.get("footer") or {}).get("text") or "", (e.get("author") or {}).get("name") or "",
                tuple(((f.get("name") or ""), (f.get("value") or "")) for f in e.get("fields") or ()))
    return (content or "", tuple(embed(e) for e in embeds or ()), tuple(files), tuple(layout))


def _layout_texts(components: list[dict]) -> list[str]:
    """The text displays of a components-v2 message, in order (a card's `texts()` as Discord returns them)."""
    out: list[str] = []
    for c in components or ():
        if c.get("type") == discord.ComponentType.text_display.value:
            out.append(c.get("content") or "")
        out += _layout_texts(c.get("components") or [])
    return out


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

    async def member_standing(self, guild_id: int, user_id: int) -> MemberStanding | None:
        guild, member = self._member(guild_id, user_id)
        if guild is None:
            return None
        if member is None and not guild.chunked:  # the roster is still arriving after a connect: ask Discord
            try:
                member = await guild.fetch_member(user_id)
            except discord.NotFound:
                member = None
            except discord.HTTPException as exc:
                log.warning("could not look up member %s: %s", user_id, exc)
                return None
        if member is None:
            return MemberStanding(present=False)
        keys = frozenset(key for key, role_id in self.bot.role_ids(guild).items() if member.get_role(role_id))
        # guild_permissions: every permission for the owner and for Administrator
        return MemberStanding(True, keys, member.guild_permissions.manage_guild)

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

# --- Discord's native surfaces: polls and scheduled events ---------------------------------------------------
class DiscordPolls:
    def __init__(self, bot: "KizunaBot") -> None:
        self.bot = bot

    async def end_poll(self, guild_id: int, channel_id: int, message_id: int) -> bool:
        guild = self.bot.get_guild(guild_id)
        channel = guild.get_channel_or_thread(channel_id) if guild else None
        if channel is None:
            return False
        try:
            await channel.get_partial_message(message_id).end_poll()
        except discord.HTTPException as exc:  # already ended (its time ran out first), deleted...
            log.info("could not end poll %s: %s", message_id, exc)
            return False
        return True

    async def voters(self, guild_id: int, channel_id: int, message_id: int) -> dict[int, list[int]] | None:
        guild = self.bot.get_guild(guild_id)
        channel = guild.get_channel_or_thread(channel_id) if guild else None
        if channel is None:
            return None
        try:
            message = await channel.fetch_message(message_id)
            if message.poll is None:
                return None
            return {answer.id: [user.id async for user in answer.voters() if not user.bot]
                    for answer in message.poll.answers}
        except discord.HTTPException as exc:
            log.warning("could not read the voters of poll %s: %s", message_id, exc)
            return None


EVENT_STATUS = {"active": discord.EventStatus.active, "completed": discord.EventStatus.completed,
                "canceled": discord.EventStatus.cancelled}


class DiscordScheduledEvents:
    REASON = "Kizuna live event"

    def __init__(self, bot: "KizunaBot") -> None:
        self.bot = bot

    async def create_event(self, guild_id: int, *, name: str, description: str, start: datetime, end: datetime,
                           location_key: str | None, location_text: str | None) -> int | None:
        """On a voice or stage channel when `location_key` is one, else external (the text, or the
        channel's link, or the server's name)."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise ConnectionError(f"guild {guild_id} not available yet")
        channel = self.bot.resolve_channel(guild, location_key) if location_key else None
        where: dict[str, Any]
        if isinstance(channel, (discord.StageChannel, discord.VoiceChannel)) and not location_text:
            where = {"channel": channel}
        else:
            text = location_text or (channel.jump_url if channel is not None else guild.name)
            where = {"entity_type": discord.EntityType.external, "location": text[:100]}
        try:
            event = await guild.create_scheduled_event(
                name=name[:100], description=description[:1000] or discord.utils.MISSING, start_time=start,
                end_time=end, privacy_level=discord.PrivacyLevel.guild_only, reason=self.REASON, **where)
        except discord.HTTPException as exc:
            log.warning("could not create the scheduled event %r: %s", name, exc)
            return None
        return event.id

    async def _event(self, guild_id: int, event_id: int) -> discord.ScheduledEvent | None:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return None
        event = guild.get_scheduled_event(event_id)
        if event is None:
            try:
                event = await guild.fetch_scheduled_event(event_id, with_counts=False)
            except discord.HTTPException:
                return None
        return event

    async def edit_event(self, guild_id: int, event_id: int, *, status: str | None = None,
                         location_text: str | None = None) -> bool:
        event = await self._event(guild_id, event_id)
        if event is None:
            return False
        changes: dict[str, Any] = {}
        if status is not None:
            changes["status"] = EVENT_STATUS[status]
        if location_text is not None:
            if event.entity_type is not discord.EntityType.external:
                return status is None  # an event on a voice or stage channel stays there
            changes["location"] = location_text[:100]
        try:
            await event.edit(**changes, reason=self.REASON)
        except discord.HTTPException as exc:
            log.warning("could not update scheduled event %s (%s): %s", event_id, changes, exc)
            return False
        return True

    async def interested_users(self, guild_id: int, event_id: int) -> list[int] | None:
        event = await self._event(guild_id, event_id)
        if event is None:
            return None
        try:
            return [user.id async for user in event.users(limit=None) if not user.bot]
        except discord.HTTPException as exc:
            log.warning("could not list who is interested in event %s: %s", event_id, exc)
            return None


class DiscordForumPort:
    """`app.forum`: a post's tags (by name) and flags, with discord.py (bot/services/forum.py)."""

    def __init__(self, bot: "KizunaBot") -> None:
        self.bot = bot

    async def _post(self, guild_id: int, post_id: int) -> discord.Thread | None:
        guild = self.bot.get_guild(guild_id)
        thread = guild.get_thread(post_id) if guild else None
        if thread is None:
            try:
                channel = await self.bot.fetch_channel(post_id)
            except discord.HTTPException:
                return None
            thread = channel if isinstance(channel, discord.Thread) else None
        return thread if thread is not None and isinstance(thread.parent, discord.ForumChannel) else None

    async def post_tags(self, guild_id: int, post_id: int) -> list[str] | None:
        thread = await self._post(guild_id, post_id)
        return None if thread is None else [tag.name for tag in thread.applied_tags]

    async def update_post(self, guild_id: int, post_id: int, *, tags: tuple[str, ...] | None = None,
                          archived: bool | None = None, locked: bool | None = None) -> bool:
        thread = await self._post(guild_id, post_id)
        if thread is None:
            return False
        changes: dict[str, Any] = {}
        if tags is not None:
            by_name = {tag.name: tag for tag in thread.parent.available_tags}
            wanted = [by_name[n] for n in tags if n in by_name][:5]
            if [t.id for t in wanted] != [t.id for t in thread.applied_tags]:
                changes["applied_tags"] = wanted
        if archived is not None and archived != thread.archived:
            changes["archived"] = archived
        if locked is not None and locked != thread.locked:
            changes["locked"] = locked
        if not changes:
            return True
        try:
            await thread.edit(**changes)
        except discord.HTTPException as exc:
            log.warning("could not update forum post %s: %s", post_id, exc)
            return False
        return True
