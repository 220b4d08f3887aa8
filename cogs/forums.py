"""Forum events, routed to the features that own the forum (bot/services/forum.py): the help forum
(bot/services/support.py) and feedback posted as forum posts (bot/services/feedback_forum.py).

A member's new post is a THREAD_CREATE; messages in posts and reactions on a post's starter message
(whose id is the post's) arrive like any other. The bot has no message-content intent: what it keeps
of a member's message is who wrote it and when (and its text only where Discord shares it)."""
from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.services.forum import CATCH_UP_WINDOW, SeenPost, catch_up, resync
from bot.checks import is_staff

log = logging.getLogger(__name__)

ARCHIVED_PAGE = 100  # archived posts looked at per forum at start: one request (Discord's largest page)


class ForumEvents(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app

    def _forums(self, guild: discord.Guild) -> dict[str, discord.ForumChannel]:
        """"help" and "feedback" -> that feature's forum, where it has one."""
        c = self.app.config.community
        out = {}
        for feature, key in (("help", c.help.channel), ("feedback", c.feedback.channel)):
            if key is None or not c.channels.get(key) or not c.channels[key].forum:
                continue
            forum = self.bot.resolve_channel(guild, key)
            if isinstance(forum, discord.ForumChannel):
                out[feature] = forum
        return out

    def _forum_key(self, thread: discord.abc.GuildChannel | discord.Thread | None) -> str | None:
        """"help" or "feedback" when `thread` is a post in that feature's forum."""
        if not isinstance(thread, discord.Thread) or not isinstance(thread.parent, discord.ForumChannel):
            return None
        return next((f for f, forum in self._forums(thread.guild).items() if forum.id == thread.parent.id), None)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """After a start: posts members opened while the bot was away are caught up, then the posts' tags
        follow the database again (an edit may have been lost)."""
        guild = self.bot.community_guild
        if guild is not None:
            await catch_up(self.app, guild.id, await self._members_posts(guild))
            await resync(self.app, guild.id)

    async def _members_posts(self, guild: discord.Guild) -> list[SeenPost]:
        """Members' posts in the help and feedback forums (Discord does not replay the THREAD_CREATEs a
        stopped bot missed): the guild's active threads (one request), and each forum's most recently
        archived posts (one request each: a post archived during a long outage). A failure is logged and
        the next start looks again."""
        forums = self._forums(guild)
        if not forums:
            return []
        threads: dict[int, discord.Thread] = {}
        try:
            threads.update((t.id, t) for t in await guild.active_threads())
        except discord.HTTPException as exc:
            log.warning("could not list the active threads to catch up on forum posts: %s", exc)
            return []
        cutoff = self.app.clock.now() - CATCH_UP_WINDOW
        for forum in forums.values():
            try:
                async for thread in forum.archived_threads(limit=ARCHIVED_PAGE):  # newest archived first
                    if thread.archive_timestamp < cutoff:
                        break
                    threads.setdefault(thread.id, thread)
            except discord.HTTPException as exc:
                log.warning("could not list #%s's archived posts to catch up on them: %s", forum.name, exc)
        seen = []
        for thread in threads.values():
            feature = self._forum_key(thread)
            if feature is None or thread.owner_id in (None, self.bot.user.id):
                continue
            starter = thread.starter_message
            seen.append(SeenPost(feature, thread.id, thread.owner_id, thread.name,
                                 tuple(t.name for t in thread.applied_tags),
                                 discord.utils.snowflake_time(thread.id),  # a post's id is its creation time
                                 starter.content if starter else ""))
        return seen

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        feature = self._forum_key(thread)
        if feature is None or thread.owner_id == self.bot.user.id:
            return  # the bot's own posts (/help ask, /feedback send) are known already
        tags = [t.name for t in thread.applied_tags]
        if feature == "help":
            await self.app.support.opened_in_forum(thread.guild.id, thread_id=thread.id, asker_id=thread.owner_id,
                                                   title=thread.name, tags=tags)
        else:  # a member's own feedback post: an item, as with /feedback send
            starter = thread.starter_message
            await self.app.feedback.opened_in_forum(thread.guild.id, post_id=thread.id, author_id=thread.owner_id,
                                                    title=thread.name, tags=tags,
                                                    text=starter.content if starter else "")

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None or message.author.bot or message.webhook_id:
            return
        feature = self._forum_key(message.channel)
        if feature == "help" and message.id != message.channel.id:  # the starter message is the question
            await self.app.support.message_in_post(message.guild.id, thread_id=message.channel.id,
                                                   author_id=message.author.id,
                                                   is_staff=is_staff(self.bot, message.author),
                                                   at=message.created_at)
        elif feature == "feedback":
            await self.app.feedback.forum.reply(message.guild.id, post_id=message.channel.id, message_id=message.id,
                                                author_id=message.author.id, content=message.content,
                                                at=message.created_at)

    async def _reaction(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        if payload.guild_id is None or payload.user_id == self.bot.user.id:
            return
        guild = self.bot.get_guild(payload.guild_id)
        if guild is None or self._forum_key(guild.get_thread(payload.channel_id)) != "feedback":
            return
        await self.app.feedback.forum.reaction(payload.guild_id, post_id=payload.channel_id,
                                               message_id=payload.message_id, user_id=payload.user_id,
                                               emoji=str(payload.emoji), added=added)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, False)


async def setup(bot) -> None:
    await bot.add_cog(ForumEvents(bot))
